import { Image } from "imagescript";
import { encodePng } from "../src/images/png_encode.ts";
import { mulberry32 } from "../src/random.ts";
import { assert } from "./_assert.ts";

/** A picture whose rows favour different PNG filters: noise, gradients, flat runs. */
function picture(width: number, height: number, alpha: boolean): Uint8Array {
  const rand = mulberry32(3);
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 4;
      const kind = y % 3;
      for (let c = 0; c < 3; c++) {
        data[o + c] = kind === 0
          ? Math.floor(rand() * 256)
          : kind === 1
          ? (x * 7 + c * 40) & 0xff
          : (y * 11 + c) & 0xff;
      }
      data[o + 3] = alpha ? Math.floor(rand() * 256) : 255;
    }
  }
  return data;
}

for (const alpha of [false, true]) {
  Deno.test(`encodePng() round-trips every byte through imagescript's decoder (${alpha ? "RGBA" : "opaque"})`, async () => {
    const [width, height] = [23, 17];
    const data = picture(width, height, alpha);
    const png = await encodePng({ width, height, data });
    // IHDR colour type: 2 (RGB) for an opaque picture, 6 (RGBA) otherwise.
    assert.equal(png[25], alpha ? 6 : 2);
    const decoded = await Image.decode(png);
    assert.equal(decoded.width, width);
    assert.equal(decoded.height, height);
    assert.deepEqual([...decoded.bitmap], [...data]);
  });
}

Deno.test("encodePng() refuses data that does not match the size", async () => {
  await assert.rejects(
    () => encodePng({ width: 2, height: 2, data: new Uint8Array(15) }),
    /needs 16 bytes, got 15/,
  );
  await assert.rejects(
    () => encodePng({ width: 0, height: 2, data: new Uint8Array(0) }),
    /width must be an integer/,
  );
});
