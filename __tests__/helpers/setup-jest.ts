import { Testing } from "cdktf/lib/testing";
import "cdktf/lib/testing/adapters/jest";

Testing.setupJest();
