// A test helper that writes torch.save's legacy (pre-1.6, non-ZIP) stream byte by byte, as
// PyTorch's `_legacy_save` lays it out: the magic number, protocol and system-info pickles, the
// state dict pickle (an OrderedDict whose tensors name storages by key through persistent ids,
// then BUILD with `_metadata`), the sorted list of storage keys, and each storage's bytes after
// an int64 element count.
import { Pickle } from "./_torch_writer.ts";

/** One tensor to write: float32 or int64 values, row-major. */
export interface LegacyTensor {
  shape: number[];
  data: Float32Array | BigInt64Array;
}

function sysInfo(little: boolean): Uint8Array {
  // {"protocol_version": 1001, "little_endian": bool, "type_sizes": {"short": 2, "int": 4, "long": 8}}
  const p = new Pickle().op(0x7d).mark()
    .str("protocol_version").op(0x4d, 0xe9, 0x03)
    .str("little_endian").op(little ? 0x88 : 0x89)
    .str("type_sizes").op(0x7d).mark()
    .str("short").op(0x4b, 2).str("int").op(0x4b, 4).str("long").op(0x4b, 8)
    .op(0x75).op(0x75);
  return p.end();
}

/**
 * The bytes of `torch.save(state_dict, f, _use_new_zipfile_serialization=False)` for the given
 * tensors, one storage each (keys are decimal strings, as `str(id(storage))` gives), with
 * `_metadata` set on the OrderedDict by a BUILD instruction.
 */
export function torchSaveLegacy(
  tensors: Map<string, LegacyTensor>,
  opts: { littleEndian?: boolean } = {},
): Uint8Array {
  const little = opts.littleEndian ?? true;
  const parts: Uint8Array[] = [];
  // Magic number 0x1950a86a20f9469cfc6c as a 10-byte LONG1, then the protocol version 1001.
  parts.push(
    new Uint8Array([
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
    ]),
  );
  parts.push(new Uint8Array([0x80, 0x02, 0x4d, 0xe9, 0x03, 0x2e]));
  parts.push(sysInfo(little));
  const main = new Pickle().dict();
  const keys: string[] = [];
  let id = 140234000;
  for (const [name, t] of tensors) {
    const key = String(id);
    id += 1000;
    keys.push(key);
    const storage = t.data instanceof BigInt64Array ? "LongStorage" : "FloatStorage";
    const stride = t.shape.map((_, i) => t.shape.slice(i + 1).reduce((a, b) => a * b, 1));
    main.str(name).global("torch._utils", "_rebuild_tensor_v2").mark();
    // Persistent id ("storage", type, key, "cpu", numel, None).
    main.mark().str("storage").global("torch", storage).str(key).str("cpu").int(t.data.length)
      .op(0x4e).tuple().op(0x51);
    main.int(0).ints(t.shape).ints(stride).op(0x89);
    main.global("collections", "OrderedDict").op(0x29).reduce();
    main.tuple().reduce();
  }
  main.op(0x75);
  // state: {"_metadata": OrderedDict([("", {"version": 1})])}, applied by BUILD.
  main.op(0x7d).str("_metadata").global("collections", "OrderedDict").op(0x29).reduce()
    .str("").op(0x7d).str("version").op(0x4b, 1).op(0x73).op(0x73).op(0x73).op(0x62);
  parts.push(main.end());
  // The keys sorted as Python sorts strings, then the data in that order.
  const order = keys.map((k, i) => [k, i] as const).sort((a, b) => (a[0] < b[0] ? -1 : 1));
  const list = new Pickle().op(0x5d).mark();
  for (const [k] of order) list.str(k);
  parts.push(list.op(0x65).end());
  const values = [...tensors.values()];
  for (const [, i] of order) {
    const t = values[i];
    const head = new Uint8Array(8);
    new DataView(head.buffer).setBigInt64(0, BigInt(t.data.length), little);
    let body: Uint8Array;
    if (little) {
      body = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    } else {
      body = new Uint8Array(t.data.byteLength);
      const view = new DataView(body.buffer);
      for (let k = 0; k < t.data.length; k++) {
        if (t.data instanceof BigInt64Array) view.setBigInt64(k * 8, t.data[k], false);
        else view.setFloat32(k * 4, t.data[k], false);
      }
    }
    parts.push(head, body);
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
