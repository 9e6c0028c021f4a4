;; Group norm's passes over NHWC activations in 128-bit SIMD, four channels per instruction.
;;
;; The JavaScript side (`_group_norm_simd.ts`) copies a block of pixels of one image into this
;; memory, with that image's per-channel coefficients, calls one of these functions, and copies
;; the result out. Every address is a byte offset; every per-channel array holds `c` entries,
;; `c` a multiple of 4. Per-element arithmetic is float32; sums over pixels are float64.
;;
;; A group's mean comes as two float32 arrays, `mu` and `muLo = mu64 - mu`, and `x - mu64` as
;; `(x - mu) - muLo`: where |mean| >> std, x and mu are within a factor of 2, so the first
;; subtraction is exact, and the difference keeps float32's relative precision instead of
;; losing the mean's rounding error (4e-6 at a mean of 100).
;;
;; Build: `deno task build:wasm` turns this file into `_group_norm_wasm.ts`.
(module
  (memory (export "memory") 1)

  ;; Lanes 2 and 3 of four float32s, as two float64s.
  (func $promoteHigh (param $v v128) (result v128)
    (f64x2.promote_low_f32x4
      (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v))))

  ;; acc[0..2] += lo, acc[2..4] += hi, in float64.
  (func $addPair (param $acc i32) (param $lo v128) (param $hi v128)
    (v128.store (local.get $acc) (f64x2.add (v128.load (local.get $acc)) (local.get $lo)))
    (v128.store offset=16 (local.get $acc)
      (f64x2.add (v128.load offset=16 (local.get $acc)) (local.get $hi))))

  ;; x - mu64 for four channels, as (x - mu) - muLo.
  (func $centred (param $x i32) (param $mu i32) (param $muLo i32) (result v128)
    (f32x4.sub (f32x4.sub (v128.load (local.get $x)) (v128.load (local.get $mu)))
      (v128.load (local.get $muLo))))

  ;; Per channel, over `pixels` pixels: sum += (x - shift) and sumSq += (x - shift)^2, the
  ;; subtraction and square in float64 so that the statistics lose nothing to rounding.
  ;; shift: float64 per channel; sum, sumSq: float64 per channel.
  (func (export "channelSums")
    (param $x i32) (param $shift i32) (param $sum i32) (param $sumSq i32)
    (param $pixels i32) (param $c i32)
    (local $i i32) (local $end i32) (local $j i32) (local $row i32)
    (local $v v128) (local $lo v128) (local $hi v128)
    (local.set $row (i32.shl (local.get $c) (i32.const 2)))
    (local.set $end (i32.add (local.get $x) (i32.mul (local.get $pixels) (local.get $row))))
    (local.set $i (local.get $x))
    (block $done
      (loop $pixel
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        ;; $j: byte offset into the float64 per-channel arrays, 8 bytes a channel.
        (local.set $j (i32.const 0))
        (loop $channel
          (local.set $v (v128.load (local.get $i)))
          (local.set $lo
            (f64x2.sub (f64x2.promote_low_f32x4 (local.get $v))
              (v128.load (i32.add (local.get $shift) (local.get $j)))))
          (local.set $hi
            (f64x2.sub
              (f64x2.promote_low_f32x4
                (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v)))
              (v128.load offset=16 (i32.add (local.get $shift) (local.get $j)))))
          (v128.store (i32.add (local.get $sum) (local.get $j))
            (f64x2.add (v128.load (i32.add (local.get $sum) (local.get $j))) (local.get $lo)))
          (v128.store offset=16 (i32.add (local.get $sum) (local.get $j))
            (f64x2.add (v128.load offset=16 (i32.add (local.get $sum) (local.get $j)))
              (local.get $hi)))
          (v128.store (i32.add (local.get $sumSq) (local.get $j))
            (f64x2.add (v128.load (i32.add (local.get $sumSq) (local.get $j)))
              (f64x2.mul (local.get $lo) (local.get $lo))))
          (v128.store offset=16 (i32.add (local.get $sumSq) (local.get $j))
            (f64x2.add (v128.load offset=16 (i32.add (local.get $sumSq) (local.get $j)))
              (f64x2.mul (local.get $hi) (local.get $hi))))
          (local.set $i (i32.add (local.get $i) (i32.const 16)))
          (local.set $j (i32.add (local.get $j) (i32.const 32)))
          (br_if $channel (i32.lt_u (local.get $j) (i32.shl (local.get $row) (i32.const 1)))))
        (br $pixel))))

  ;; The backward's first pass: xh = (x - mu64) r, the normalised input; dz = dy, or with swish
  ;; dy sig (1 + z (1 - sig)) at z = xh gamma + beta, sig = y / z from the forward's output y
  ;; (1/2 + z/4 - z^3/48 where |z| <= 0.05, where the quotient would magnify rounding; the
  ;; series' error there is under 2e-10). Writes dz; per channel sumDz += dz, sumDzXh += dz xh.
  ;; r, mu, muLo, gamma, beta: float32 per channel; sumDz, sumDzXh: float64 per channel.
  (func (export "gradSums")
    (param $x i32) (param $dy i32) (param $y i32) (param $dz i32)
    (param $r i32) (param $mu i32) (param $muLo i32) (param $gamma i32) (param $beta i32)
    (param $sumDz i32) (param $sumDzXh i32)
    (param $pixels i32) (param $c i32) (param $swish i32)
    (local $i i32) (local $stop i32) (local $j i32) (local $row i32)
    (local $rv v128) (local $muv v128) (local $muLov v128) (local $gv v128) (local $bv v128)
    (local $xh v128) (local $d v128) (local $z v128) (local $sig v128) (local $p v128)
    (local $dzLo v128) (local $dzHi v128) (local $xhLo v128) (local $xhHi v128)
    (local $one v128) (local $half v128) (local $quarter v128) (local $k48 v128) (local $near v128)
    ;; Constants in locals: V8 would otherwise build each one anew inside the loop.
    (local.set $one (f32x4.splat (f32.const 1)))
    (local.set $half (f32x4.splat (f32.const 0.5)))
    (local.set $quarter (f32x4.splat (f32.const 0.25)))
    (local.set $k48 (f32x4.splat (f32.const 0.020833333333333332)))
    (local.set $near (f32x4.splat (f32.const 0.05)))
    (local.set $row (i32.shl (local.get $c) (i32.const 2)))
    ;; Four channels at a time down all pixels, so that their coefficients and sums stay in
    ;; registers. $j: byte offset into the float32 per-channel arrays; $i: into the pixel arrays.
    (local.set $j (i32.const 0))
    (loop $channel
      (local.set $rv (v128.load (i32.add (local.get $r) (local.get $j))))
      (local.set $muv (v128.load (i32.add (local.get $mu) (local.get $j))))
      (local.set $muLov (v128.load (i32.add (local.get $muLo) (local.get $j))))
      (local.set $gv (v128.load (i32.add (local.get $gamma) (local.get $j))))
      (local.set $bv (v128.load (i32.add (local.get $beta) (local.get $j))))
      (local.set $dzLo (v128.const f64x2 0 0))
      (local.set $dzHi (v128.const f64x2 0 0))
      (local.set $xhLo (v128.const f64x2 0 0))
      (local.set $xhHi (v128.const f64x2 0 0))
      (local.set $i (local.get $j))
      (local.set $stop (i32.add (local.get $j) (i32.mul (local.get $pixels) (local.get $row))))
      (block $done
        (loop $pixel
          (br_if $done (i32.ge_u (local.get $i) (local.get $stop)))
          (local.set $xh
            (f32x4.mul
              (f32x4.sub
                (f32x4.sub (v128.load (i32.add (local.get $x) (local.get $i))) (local.get $muv))
                (local.get $muLov))
              (local.get $rv)))
          (local.set $d (v128.load (i32.add (local.get $dy) (local.get $i))))
          (if (local.get $swish)
            (then
              (local.set $z (f32x4.add (f32x4.mul (local.get $xh) (local.get $gv)) (local.get $bv)))
              (local.set $sig
                (v128.bitselect
                  (f32x4.add (local.get $half)
                    (f32x4.mul (local.get $z)
                      (f32x4.sub (local.get $quarter)
                        (f32x4.mul (f32x4.mul (local.get $z) (local.get $z)) (local.get $k48)))))
                  (f32x4.div (v128.load (i32.add (local.get $y) (local.get $i))) (local.get $z))
                  (f32x4.le (f32x4.abs (local.get $z)) (local.get $near))))
              (local.set $d
                (f32x4.mul (local.get $d)
                  (f32x4.mul (local.get $sig)
                    (f32x4.add (local.get $one)
                      (f32x4.mul (local.get $z) (f32x4.sub (local.get $one) (local.get $sig)))))))))
          (v128.store (i32.add (local.get $dz) (local.get $i)) (local.get $d))
          (local.set $p (f32x4.mul (local.get $d) (local.get $xh)))
          (local.set $dzLo (f64x2.add (local.get $dzLo) (f64x2.promote_low_f32x4 (local.get $d))))
          (local.set $dzHi (f64x2.add (local.get $dzHi) (f64x2.promote_low_f32x4
                (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $d) (local.get $d)))))
          (local.set $xhLo (f64x2.add (local.get $xhLo) (f64x2.promote_low_f32x4 (local.get $p))))
          (local.set $xhHi (f64x2.add (local.get $xhHi) (f64x2.promote_low_f32x4
                (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $p) (local.get $p)))))
          (local.set $i (i32.add (local.get $i) (local.get $row)))
          (br $pixel)))
      (call $addPair (i32.add (local.get $sumDz) (i32.shl (local.get $j) (i32.const 1)))
        (local.get $dzLo) (local.get $dzHi))
      (call $addPair (i32.add (local.get $sumDzXh) (i32.shl (local.get $j) (i32.const 1)))
        (local.get $xhLo) (local.get $xhHi))
      (local.set $j (i32.add (local.get $j) (i32.const 16)))
      (br_if $channel (i32.lt_u (local.get $j) (local.get $row)))))

  ;; The backward's second pass, in place: dz = a dz + bx (x - mu64) + d1.
  ;; a, bx, mu, muLo, d1: float32 per channel.
  (func (export "gradApply")
    (param $x i32) (param $dz i32)
    (param $a i32) (param $bx i32) (param $mu i32) (param $muLo i32) (param $d1 i32)
    (param $pixels i32) (param $c i32)
    (local $i i32) (local $end i32) (local $j i32) (local $row i32)
    (local.set $row (i32.shl (local.get $c) (i32.const 2)))
    (local.set $end (i32.mul (local.get $pixels) (local.get $row)))
    (local.set $i (i32.const 0))
    (block $done
      (loop $pixel
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (local.set $j (i32.const 0))
        (loop $channel
          (v128.store (i32.add (local.get $dz) (local.get $i))
            (f32x4.add
              (f32x4.add
                (f32x4.mul (v128.load (i32.add (local.get $a) (local.get $j)))
                  (v128.load (i32.add (local.get $dz) (local.get $i))))
                (f32x4.mul (v128.load (i32.add (local.get $bx) (local.get $j)))
                  (call $centred (i32.add (local.get $x) (local.get $i))
                    (i32.add (local.get $mu) (local.get $j))
                    (i32.add (local.get $muLo) (local.get $j)))))
              (v128.load (i32.add (local.get $d1) (local.get $j)))))
          (local.set $i (i32.add (local.get $i) (i32.const 16)))
          (local.set $j (i32.add (local.get $j) (i32.const 16)))
          (br_if $channel (i32.lt_u (local.get $j) (local.get $row))))
        (br $pixel)))))
