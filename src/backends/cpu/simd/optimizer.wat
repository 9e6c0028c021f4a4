;; Adam and the EMA over float32 arrays in 128-bit SIMD, four weights per instruction.
;;
;; The JavaScript side (`_optimizer_simd.ts`) copies a block of each array into this memory,
;; calls a function, and copies the results out. Addresses are byte offsets; `count` is a
;; multiple of 4. Every operation rounds to float32 in the order of the JavaScript loops in
;; `../fused/_optimizer_math.ts`, and WebAssembly has no fused multiply-add, so the results
;; equal theirs bit for bit.
;;
;; Build: `deno task build:wasm` turns this file into `_optimizer_wasm.ts`.
(module
  (memory (export "memory") 1)

  ;; One Adam step in place:
  ;;   gs = g scale; m = m b1 + gs c1; v = v b2 + gs^2 c2; w -= m / (sqrt(v) + eps) stepSize.
  ;; c1 = 1 - beta1 and c2 = 1 - beta2, formed by the caller.
  (func (export "adam")
    (param $w i32) (param $g i32) (param $m i32) (param $v i32) (param $count i32)
    (param $scale f32) (param $b1 f32) (param $c1 f32) (param $b2 f32) (param $c2 f32)
    (param $eps f32) (param $stepSize f32)
    (local $i i32) (local $end i32)
    (local $scaleV v128) (local $b1V v128) (local $c1V v128) (local $b2V v128) (local $c2V v128)
    (local $epsV v128) (local $stepV v128)
    (local $gs v128) (local $mi v128) (local $vi v128)
    (local.set $scaleV (f32x4.splat (local.get $scale)))
    (local.set $b1V (f32x4.splat (local.get $b1)))
    (local.set $c1V (f32x4.splat (local.get $c1)))
    (local.set $b2V (f32x4.splat (local.get $b2)))
    (local.set $c2V (f32x4.splat (local.get $c2)))
    (local.set $epsV (f32x4.splat (local.get $eps)))
    (local.set $stepV (f32x4.splat (local.get $stepSize)))
    (local.set $end (i32.shl (local.get $count) (i32.const 2)))
    (local.set $i (i32.const 0))
    (block $done
      (loop $weights
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (local.set $gs
          (f32x4.mul (v128.load (i32.add (local.get $g) (local.get $i))) (local.get $scaleV)))
        (local.set $mi
          (f32x4.add
            (f32x4.mul (v128.load (i32.add (local.get $m) (local.get $i))) (local.get $b1V))
            (f32x4.mul (local.get $gs) (local.get $c1V))))
        (local.set $vi
          (f32x4.add
            (f32x4.mul (v128.load (i32.add (local.get $v) (local.get $i))) (local.get $b2V))
            (f32x4.mul (f32x4.mul (local.get $gs) (local.get $gs)) (local.get $c2V))))
        (v128.store (i32.add (local.get $m) (local.get $i)) (local.get $mi))
        (v128.store (i32.add (local.get $v) (local.get $i)) (local.get $vi))
        (v128.store (i32.add (local.get $w) (local.get $i))
          (f32x4.sub (v128.load (i32.add (local.get $w) (local.get $i)))
            (f32x4.mul
              (f32x4.div (local.get $mi)
                (f32x4.add (f32x4.sqrt (local.get $vi)) (local.get $epsV)))
              (local.get $stepV))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $weights))))

  ;; One EMA step in place: e = e decay + w keep, with keep = 1 - decay formed by the caller.
  (func (export "ema")
    (param $e i32) (param $w i32) (param $count i32) (param $decay f32) (param $keep f32)
    (local $i i32) (local $end i32) (local $decayV v128) (local $keepV v128)
    (local.set $decayV (f32x4.splat (local.get $decay)))
    (local.set $keepV (f32x4.splat (local.get $keep)))
    (local.set $end (i32.shl (local.get $count) (i32.const 2)))
    (local.set $i (i32.const 0))
    (block $done
      (loop $weights
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (v128.store (i32.add (local.get $e) (local.get $i))
          (f32x4.add
            (f32x4.mul (v128.load (i32.add (local.get $e) (local.get $i))) (local.get $decayV))
            (f32x4.mul (v128.load (i32.add (local.get $w) (local.get $i))) (local.get $keepV))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $weights)))))
