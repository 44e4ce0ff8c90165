/**
 * A low-cost key for test repositories. restic calibrates its key's scrypt parameters at `init` to take about
 * half a second (N=2^15, r=8, p up to 5 here), and every command that opens the repository pays that again: the
 * backup and restore files run about 200 restic commands, so scrypt alone was over a minute of CPU.
 *
 * `useLowCostKey` replaces the repository's key file with one that wraps the same master key under
 * scrypt N=2^10, r=8, p=1. The repository itself (config, snapshots, packs) is untouched and every command
 * afterwards is real restic; only the password check gets cheap, as fsync=off makes the test PostgreSQL
 * cheap. A repository made by `backup.sh --init` is first used with its calibrated key, so the tests still
 * cover the real one.
 *
 * The key file format is restic's design document ("Keys, Encryption and MAC"): scrypt(password, salt)
 * gives 64 bytes, the AES-256-CTR key then the MAC key k||r; `data` is IV || ciphertext || Poly1305-AES tag
 * over the ciphertext, with the one-time key r || AES-128_k(IV).
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes, scryptSync, timingSafeEqual } from "crypto";
import { readdirSync, readFileSync, rmSync, writeFileSync } from "fs";
import { join } from "path";

export const LOW_COST_KDF = { N: 1024, r: 8, p: 1 } as const;

interface KeyFile {
  created: string;
  username: string;
  hostname: string;
  kdf: string;
  N: number;
  r: number;
  p: number;
  salt: string;
  data: string;
}

function littleEndian(bytes: Buffer): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]);
  return n;
}

/** Poly1305 (RFC 8439 section 2.5) with the one-time key r || s; r is clamped here. */
export function poly1305(message: Buffer, r: Buffer, s: Buffer): Buffer {
  const p = (1n << 130n) - 5n;
  const clamped = littleEndian(r) & 0x0ffffffc0ffffffc0ffffffc0fffffffn;
  let acc = 0n;
  for (let i = 0; i < message.length; i += 16) {
    const block = Buffer.concat([message.subarray(i, i + 16), Buffer.from([1])]);
    acc = ((acc + littleEndian(block)) * clamped) % p;
  }
  acc = (acc + littleEndian(s)) & ((1n << 128n) - 1n);
  const tag = Buffer.alloc(16);
  for (let i = 0; i < 16; i++) tag[i] = Number((acc >> BigInt(8 * i)) & 0xffn);
  return tag;
}

function derive(password: string, salt: Buffer, params: { N: number; r: number; p: number }) {
  const key = scryptSync(password, salt, 64, { ...params, maxmem: 256 * 1024 * 1024 + 128 * params.N * params.r });
  return { aes: key.subarray(0, 32), macK: key.subarray(32, 48), macR: key.subarray(48, 64) };
}

function tag(keys: ReturnType<typeof derive>, iv: Buffer, ciphertext: Buffer): Buffer {
  const aes = createCipheriv("aes-128-ecb", keys.macK, null);
  aes.setAutoPadding(false);
  const s = Buffer.concat([aes.update(iv), aes.final()]);
  return poly1305(ciphertext, keys.macR, s);
}

/** Decrypts a key file's `data` (the repository's master key, as restic's JSON). Throws on a wrong password. */
export function openKeyFile(file: KeyFile, password: string): Buffer {
  const keys = derive(password, Buffer.from(file.salt, "base64"), { N: file.N, r: file.r, p: file.p });
  const blob = Buffer.from(file.data, "base64");
  const iv = blob.subarray(0, 16);
  const ciphertext = blob.subarray(16, blob.length - 16);
  const mac = blob.subarray(blob.length - 16);
  if (!timingSafeEqual(tag(keys, iv, ciphertext), mac)) {
    throw new Error("restic key file: the MAC does not match (wrong password, or not a restic key)");
  }
  const aes = createDecipheriv("aes-256-ctr", keys.aes, iv);
  return Buffer.concat([aes.update(ciphertext), aes.final()]);
}

/** A key file wrapping `masterKey` under `password` with the given scrypt parameters. */
export function sealKeyFile(masterKey: Buffer, password: string, like: KeyFile, params = LOW_COST_KDF): KeyFile {
  const salt = randomBytes(64);
  const keys = derive(password, salt, params);
  const iv = randomBytes(16);
  const aes = createCipheriv("aes-256-ctr", keys.aes, iv);
  const ciphertext = Buffer.concat([aes.update(masterKey), aes.final()]);
  const data = Buffer.concat([iv, ciphertext, tag(keys, iv, ciphertext)]);
  return { ...like, ...params, salt: salt.toString("base64"), data: data.toString("base64") };
}

/**
 * Replaces the only key of the repository whose key files are in `keysDir` with a low-cost one for the same
 * password. `suffix` is what the storage adds to an object's name (s3rver: "._S3rver_object"); its other
 * per-object files (metadata, md5) are removed with the old key.
 */
export function useLowCostKey(keysDir: string, password: string, suffix = ""): void {
  const names = readdirSync(keysDir).filter((n) => n.endsWith(suffix) && /^[0-9a-f]{64}/.test(n));
  if (names.length !== 1) {
    throw new Error(`useLowCostKey: expected one key file in ${keysDir}, found ${names.length}: ${names.join(", ")}`);
  }
  const old = JSON.parse(readFileSync(join(keysDir, names[0]), "utf8")) as KeyFile;
  if (old.kdf !== "scrypt") throw new Error(`useLowCostKey: unknown kdf "${old.kdf}" in ${names[0]}`);
  const sealed = Buffer.from(JSON.stringify(sealKeyFile(openKeyFile(old, password), password, old)));
  // Like restic, name the file by the SHA-256 of its content.
  const id = createHash("sha256").update(sealed).digest("hex");
  writeFileSync(join(keysDir, id + suffix), sealed);
  const oldId = names[0].slice(0, 64);
  for (const n of readdirSync(keysDir)) if (n.startsWith(oldId)) rmSync(join(keysDir, n));
}
