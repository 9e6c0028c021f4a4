/**
 * Reading PyTorch `.bin`/`.pt`/`.pth` state dicts without Python and without trusting the
 * file: the `torch.save` ZIP format of PyTorch >= 1.6, and the legacy stream format before it
 * (still written with `_use_new_zipfile_serialization=False`, and used by files such as
 * pytorch-fid's Inception weights).
 *
 * A pickle is a program for a stack machine that may call any Python function it names. This
 * reader runs only the instructions a state dict needs and knows only a fixed list of names
 * (OrderedDict, tensor rebuilds, storage types), which it interprets itself: it never calls
 * anything the file names, so a hostile file can do no more than fail to load.
 *
 * @module
 */
import { openZip, type ZipArchive } from "./zip.ts";
import { type HostTensor, MAX_STATE_DICT_BYTES } from "./safetensors.ts";
import {
  _collectTensors,
  _Float32Budget,
  _PyGlobal,
  _STORAGE_DTYPES,
  _TorchStorage,
  _unpickle,
  fail,
} from "./_torch_unpickle.ts";
import { _isLegacyTorchFile, _readLegacyTorch } from "./_torch_legacy.ts";
import { _DTYPE_BYTES } from "./_dtypes.ts";

/** Options of {@linkcode readTorchStateDict}. */
export interface ReadTorchOptions {
  /** The most bytes to spend; default {@linkcode MAX_STATE_DICT_BYTES}. */
  maxBytes?: number;
}

function findPrefix(zip: ZipArchive): string {
  const pkls = [...zip.entries.keys()].filter((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (pkls.length !== 1) {
    fail(
      `expected one <name>/data.pkl in the archive, found ${pkls.length}; is this a torch.save file?`,
    );
  }
  return pkls[0].slice(0, -"data.pkl".length);
}

/**
 * Reads a `torch.save` file holding a state dict (a dict of tensors), such as a diffusers
 * `diffusion_pytorch_model.bin` (ZIP format) or pytorch-fid's
 * `pt_inception-2015-12-05-6726825d.pth` (legacy format: a magic number, protocol and
 * system-info pickles, the state-dict pickle whose persistent ids name storages by key, the
 * list of keys, then each storage's bytes after an int64 element count). Tensors of any float
 * or integer dtype are converted
 * to contiguous float32; tensors sharing a storage, storage offsets and strides are honoured.
 * Nested dicts are flattened with "." between keys.
 *
 * Tensors that view one storage share its float32 values (do not write into them), and the
 * cost is checked against `opts.maxBytes` before each storage is inflated or decoded.
 *
 * @param bytes The whole file.
 * @param opts The cap on what reading may spend.
 * @returns The tensors by name, in the file's order.
 * @throws {FormatError} naming the global or instruction when the pickle asks for anything a
 *   state dict does not need (such as `os.system`); nothing is executed.
 * @throws {TypeError} for a malformed archive or stream.
 * @throws {RangeError} when a tensor reaches past its storage.
 * @throws {LimitError} when the storages need more than `opts.maxBytes`.
 *
 * @example Refuse what is not a torch archive
 * ```ts
 * import { readTorchStateDict } from "@x/ddpm";
 * let message = "";
 * try {
 *   readTorchStateDict(new TextEncoder().encode("not a checkpoint"));
 * } catch (err) {
 *   message = (err as Error).message;
 * }
 * if (!message.includes("ZIP")) throw new Error(message);
 * ```
 */
export function readTorchStateDict(
  bytes: Uint8Array,
  opts: ReadTorchOptions = {},
): Map<string, HostTensor> {
  const budget = new _Float32Budget(opts.maxBytes ?? MAX_STATE_DICT_BYTES);
  if (_isLegacyTorchFile(bytes)) return _readLegacyTorch(bytes, budget);
  const zip = openZip(bytes);
  const prefix = findPrefix(zip);
  let littleEndian = true;
  if (zip.entries.has(`${prefix}byteorder`)) {
    const order = new TextDecoder().decode(zip.read(`${prefix}byteorder`)).trim();
    if (order !== "little" && order !== "big") fail(`unknown byteorder "${order}"`);
    littleEndian = order === "little";
  }
  const storages = new Map<string, _TorchStorage>();
  const loadStorage = (pid: unknown): _TorchStorage => {
    if (!Array.isArray(pid) || pid[0] !== "storage" || pid.length < 3) {
      fail("a persistent id is not a ('storage', type, key, ...) tuple");
    }
    const [, type, key] = pid;
    if (!(type instanceof _PyGlobal) || !(type.qualname in _STORAGE_DTYPES)) {
      fail("a persistent id does not name a storage type");
    }
    if (typeof key !== "string" || !/^[\w.-]+$/.test(key)) {
      fail(`storage key ${JSON.stringify(key)} is invalid`);
    }
    const dtype = _STORAGE_DTYPES[type.qualname];
    let s = storages.get(key);
    if (!s) {
      const path = `${prefix}data/${key}`;
      const entry = zip.entries.get(path);
      if (!entry) fail(`storage ${path} is missing from the archive`);
      // Counted from the archive's directory, before the entry is inflated or decoded.
      const inflated = entry.method === 0 ? 0 : entry.size;
      budget.spend(Math.floor(entry.size / _DTYPE_BYTES[dtype]) * 4 + inflated, `storage ${key}`);
      s = new _TorchStorage(dtype, key, zip.read(path));
      storages.set(key, s);
    } else if (s.dtype !== dtype) {
      fail(`storage ${key} is used as both ${s.dtype} and ${dtype}`);
    }
    return s;
  };
  const { value } = _unpickle(zip.read(`${prefix}data.pkl`), { name: "data.pkl", loadStorage });
  return _collectTensors(value, littleEndian, budget);
}
