;; Column sums of a float32 matrix in 128-bit SIMD, for Sum over the leading axes (a bias's
;; gradient, for one): four columns per instruction, each widened to float64 and added in row
;; order, the additions of the JavaScript loop in `../_reduce_block.ts`, so the sums are its bits.
;;
;; Build: `deno task build:wasm` turns this file into `_reduce_wasm.ts`.
(module
  (memory (export "memory") 1)

  ;; acc[i] += x[r * cols + i] for r in [0, rows), i in [0, cols); cols a multiple of 4,
  ;; acc float64. Four columns at a time down all rows, their sums in registers.
  (func (export "columnSums") (param $x i32) (param $acc i32) (param $rows i32) (param $cols i32)
    (local $j i32) (local $i i32) (local $stop i32) (local $row i32)
    (local $v v128) (local $lo v128) (local $hi v128)
    (local.set $row (i32.shl (local.get $cols) (i32.const 2)))
    (local.set $j (i32.const 0))
    (loop $column
      (local.set $lo (v128.load (i32.add (local.get $acc) (i32.shl (local.get $j) (i32.const 1)))))
      (local.set $hi
        (v128.load offset=16 (i32.add (local.get $acc) (i32.shl (local.get $j) (i32.const 1)))))
      (local.set $i (i32.add (local.get $x) (local.get $j)))
      (local.set $stop (i32.add (local.get $i) (i32.mul (local.get $rows) (local.get $row))))
      (block $done
        (loop $rowLoop
          (br_if $done (i32.ge_u (local.get $i) (local.get $stop)))
          (local.set $v (v128.load (local.get $i)))
          (local.set $lo (f64x2.add (local.get $lo) (f64x2.promote_low_f32x4 (local.get $v))))
          (local.set $hi
            (f64x2.add (local.get $hi)
              (f64x2.promote_low_f32x4
                (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v)))))
          (local.set $i (i32.add (local.get $i) (local.get $row)))
          (br $rowLoop)))
      (v128.store (i32.add (local.get $acc) (i32.shl (local.get $j) (i32.const 1))) (local.get $lo))
      (v128.store offset=16 (i32.add (local.get $acc) (i32.shl (local.get $j) (i32.const 1)))
        (local.get $hi))
      (local.set $j (i32.add (local.get $j) (i32.const 16)))
      (br_if $column (i32.lt_u (local.get $j) (local.get $row))))))
