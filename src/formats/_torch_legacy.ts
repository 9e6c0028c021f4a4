// torch.save's legacy stream format (PyTorch < 1.6, or `_use_new_zipfile_serialization=False`):
// five pickles and the storages' bytes, one after another.
//   1. the magic number 0x1950a86a20f9469cfc6c (a 10-byte LONG1)
//   2. the protocol version, 1001
//   3. system info: {"protocol_version", "little_endian", "type_sizes"}
//   4. the object; each storage appears as the persistent id
//      ("storage", <type>, <key>, <location>, <numel>, <view or None>)
//   5. the list of storage keys, in the order their data follows
// then, per key, an int64 element count and the elements, in the byte order of (3).
import type { HostTensor } from "./safetensors.ts";
import { _DTYPE_BYTES } from "./_dtypes.ts";
import {
  _collectTensors,
  type _Float32Budget,
  _PyDict,
  _PyGlobal,
  _STORAGE_DTYPES,
  _TorchStorage,
  _unpickle,
  fail,
} from "./_torch_unpickle.ts";

// PROTO 2, LONG1 of 10 bytes holding the magic number little-endian, STOP.
const MAGIC_PICKLE = [
  0x80,
  0x02,
  0x8a,
  0x0a,
  0x6c,
  0xfc,
  0x9c,
  0x46,
  0xf9,
  0x20,
  0x6a,
  0xa8,
  0x50,
  0x19,
  0x2e,
];
const PROTOCOL_VERSION = 1001;

/** Whether the bytes start like a legacy torch.save stream (a pickle, not a ZIP archive). */
export function _isLegacyTorchFile(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x80 && bytes[1] <= 5;
}

/** Reads a legacy torch.save stream holding a state dict. */
export function _readLegacyTorch(
  bytes: Uint8Array,
  budget: _Float32Budget,
): Map<string, HostTensor> {
  // The magic number is larger than a double holds exactly, so it is matched as bytes; torch
  // writes it with pickle protocol 2 whatever protocol the rest uses.
  if (bytes.length < MAGIC_PICKLE.length || MAGIC_PICKLE.some((b, i) => bytes[i] !== b)) {
    fail(
      "the file starts with a pickle but not with torch.save's magic number; it is not a torch checkpoint, or it is truncated",
    );
  }
  let pos = MAGIC_PICKLE.length;
  const version = _unpickle(bytes, { start: pos, name: "the protocol version pickle" });
  if (version.value !== PROTOCOL_VERSION) {
    fail(`legacy protocol version ${String(version.value)} is not ${PROTOCOL_VERSION}`);
  }
  pos = version.end;
  const info = _unpickle(bytes, { start: pos, name: "the system info pickle" });
  if (!(info.value instanceof _PyDict)) fail("the system info pickle is not a dict");
  const little = info.value.items.get("little_endian");
  if (typeof little !== "boolean") fail("the system info does not say little_endian");
  pos = info.end;

  const storages = new Map<string, _TorchStorage>();
  const loadStorage = (pid: unknown): _TorchStorage => {
    if (!Array.isArray(pid) || pid[0] !== "storage" || pid.length !== 6) {
      fail("a persistent id is not a ('storage', type, key, location, numel, view) tuple");
    }
    const [, type, key, , numel, view] = pid;
    if (!(type instanceof _PyGlobal) || !(type.qualname in _STORAGE_DTYPES)) {
      fail("a persistent id does not name a storage type");
    }
    checkKey(key);
    if (!Number.isSafeInteger(numel) || numel < 0) fail(`storage ${key} has ${numel} elements`);
    const dtype = _STORAGE_DTYPES[type.qualname];
    let root = storages.get(key);
    if (!root) {
      root = new _TorchStorage(dtype, key);
      storages.set(key, root);
    } else if (root.dtype !== dtype) {
      fail(`storage ${key} is used as both ${root.dtype} and ${dtype}`);
    }
    if (view === null) return root;
    // A view of part of a storage (old code sliced storages): (view key, offset, size).
    if (!Array.isArray(view) || view.length !== 3) fail(`storage ${key} has a malformed view`);
    const [viewKey, offset, size] = view;
    checkKey(viewKey);
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(size) || offset < 0 || size < 0) {
      fail(`view ${viewKey} of storage ${key} has offset ${offset} and size ${size}`);
    }
    return new _TorchStorage(dtype, viewKey, undefined, { root, offset, size });
  };
  const main = _unpickle(bytes, { start: pos, name: "the state dict pickle", loadStorage });
  pos = main.end;
  const keysPickle = _unpickle(bytes, { start: pos, name: "the storage key list" });
  const keys = keysPickle.value;
  if (!Array.isArray(keys)) fail("the storage key list is not a list");
  pos = keysPickle.end;

  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (const key of keys) {
    checkKey(key);
    const storage = storages.get(key);
    if (!storage) fail(`storage ${key} has data but no tensor uses it`);
    if (storage.loaded) fail(`storage ${key} is listed twice`);
    if (pos + 8 > bytes.length) fail(`the file ends before storage ${key}; it is truncated`);
    const count = view.getBigInt64(pos, little);
    pos += 8;
    const elem = _DTYPE_BYTES[storage.dtype];
    const available = BigInt(bytes.length - pos);
    if (count < 0n || count * BigInt(elem) > available) {
      fail(
        `storage ${key} declares ${count} elements of ${elem} bytes, but ${available} bytes are left; the file is truncated or corrupt`,
      );
    }
    const size = Number(count) * elem;
    budget.spend(Number(count) * 4, `storage ${key}`);
    storage.setBytes(bytes.subarray(pos, pos + size));
    pos += size;
  }
  for (const [key, storage] of storages) {
    if (!storage.loaded) fail(`storage ${key} is used by a tensor but has no data`);
  }
  return _collectTensors(main.value, little, budget);
}

function checkKey(key: unknown): asserts key is string {
  if (typeof key !== "string" || !/^[\w.-]+$/.test(key)) {
    fail(`storage key ${JSON.stringify(key)} is invalid`);
  }
}
