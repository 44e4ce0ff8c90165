export { teardown as default } from "./synth-cache";
