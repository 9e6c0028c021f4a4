;; Same-shape elementwise ops on float32 arrays in 128-bit SIMD, four values per instruction.
;; Each rounds once to float32, as float64 arithmetic rounded to float32 does for these ops
;; (float64 carries more than twice float32's precision), and max/min propagate NaN and order
;; -0 below +0 as Math.max and Math.min do: the results are the JavaScript loops' bits, but for
;; the sign bit of a NaN from max/min (V8's Math.max sets it; WebAssembly's does not).
;;
;; Build: `deno task build:wasm` turns this file into `_elementwise_wasm.ts`.
(module
  (memory (export "memory") 1)

  ;; out = a add b over `count` values, a multiple of 4 (Add).
  (func (export "add") (param $a i32) (param $b i32) (param $out i32) (param $count i32)
    (local $i i32) (local $end i32)
    (local.set $end (i32.shl (local.get $count) (i32.const 2)))
    (block $done
      (loop $values
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (v128.store (i32.add (local.get $out) (local.get $i))
          (f32x4.add (v128.load (i32.add (local.get $a) (local.get $i)))
            (v128.load (i32.add (local.get $b) (local.get $i)))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $values))))

  ;; out = a sub b over `count` values, a multiple of 4 (Sub).
  (func (export "sub") (param $a i32) (param $b i32) (param $out i32) (param $count i32)
    (local $i i32) (local $end i32)
    (local.set $end (i32.shl (local.get $count) (i32.const 2)))
    (block $done
      (loop $values
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (v128.store (i32.add (local.get $out) (local.get $i))
          (f32x4.sub (v128.load (i32.add (local.get $a) (local.get $i)))
            (v128.load (i32.add (local.get $b) (local.get $i)))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $values))))

  ;; out = a mul b over `count` values, a multiple of 4 (Multiply).
  (func (export "mul") (param $a i32) (param $b i32) (param $out i32) (param $count i32)
    (local $i i32) (local $end i32)
    (local.set $end (i32.shl (local.get $count) (i32.const 2)))
    (block $done
      (loop $values
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (v128.store (i32.add (local.get $out) (local.get $i))
          (f32x4.mul (v128.load (i32.add (local.get $a) (local.get $i)))
            (v128.load (i32.add (local.get $b) (local.get $i)))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $values))))

  ;; out = a div b over `count` values, a multiple of 4 (RealDiv).
  (func (export "div") (param $a i32) (param $b i32) (param $out i32) (param $count i32)
    (local $i i32) (local $end i32)
    (local.set $end (i32.shl (local.get $count) (i32.const 2)))
    (block $done
      (loop $values
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (v128.store (i32.add (local.get $out) (local.get $i))
          (f32x4.div (v128.load (i32.add (local.get $a) (local.get $i)))
            (v128.load (i32.add (local.get $b) (local.get $i)))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $values))))

  ;; out = a max b over `count` values, a multiple of 4 (Maximum).
  (func (export "max") (param $a i32) (param $b i32) (param $out i32) (param $count i32)
    (local $i i32) (local $end i32)
    (local.set $end (i32.shl (local.get $count) (i32.const 2)))
    (block $done
      (loop $values
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (v128.store (i32.add (local.get $out) (local.get $i))
          (f32x4.max (v128.load (i32.add (local.get $a) (local.get $i)))
            (v128.load (i32.add (local.get $b) (local.get $i)))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $values))))

  ;; out = a min b over `count` values, a multiple of 4 (Minimum).
  (func (export "min") (param $a i32) (param $b i32) (param $out i32) (param $count i32)
    (local $i i32) (local $end i32)
    (local.set $end (i32.shl (local.get $count) (i32.const 2)))
    (block $done
      (loop $values
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (v128.store (i32.add (local.get $out) (local.get $i))
          (f32x4.min (v128.load (i32.add (local.get $a) (local.get $i)))
            (v128.load (i32.add (local.get $b) (local.get $i)))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $values))))
)
