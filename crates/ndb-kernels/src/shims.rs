//! The safe `f32` shims of the SIMD modules, written once.
//!
//! Every SIMD module scores rows through its own `score_rows_at` (the wide order, for dimensions
//! above `NARROW_MAX`) and `score_narrow_one` / `score_narrow_group` (the narrow order, up to
//! `NARROW_MAX`), and wraps them the same way: five safe shims that check lengths, a `batch`
//! loop that scores `ROWS` (or `NARROW_ROWS`) rows at a time, and the table of them.
//! [`f32_shims!`] writes those in the module that invokes it; only the `#[target_feature]`
//! string differs. Single-row and batch kernels pick the order by the dimension alone, so a
//! row's score never depends on which of them computed it.

/// Defines, in the invoking SIMD module, `batch::<L2>`, the safe shims `dot`, `l2_squared`,
/// `norm_squared`, `dot_batch`, `l2_squared_batch`, `dot_x4`, `l2_squared_x4`, and `F32`, the
/// [`F32Kernels`] of them.
///
/// `$features` is the module's `#[target_feature(enable = ..)]` string. The module must define
/// `ROWS: usize`, `NARROW_MAX: usize`, `NARROW_ROWS: usize` and
/// - `unsafe fn score_rows_at<const R: usize, const L2: bool>(query: &[f32], x: [*const f32; R]) -> [f32; R]`
///   (the wide order), sound when the CPU supports `$features` and every `x[r]` points at
///   `query.len()` readable floats;
/// - `unsafe fn score_narrow_one<const L2: bool>(query: &[f32], row: &[f32]) -> f32`, sound
///   when the CPU supports `$features` and `row.len() == query.len()`;
/// - `unsafe fn score_narrow_group<const L2: bool>(query: &[f32], rows: &[f32], out: &mut [f32; NARROW_ROWS])`,
///   sound when the CPU supports `$features` and `rows.len() == NARROW_ROWS * query.len()`,
///   each score bit-identical to `score_narrow_one`'s on that row;
///
/// and it must hand out `F32` only from its `kernels` constructor, after detecting `$features`.
/// That detection is what makes the shims' `unsafe` calls sound; the shims check the lengths
/// themselves.
///
/// [`F32Kernels`]: crate::F32Kernels
macro_rules! f32_shims {
    ($features:literal) => {
        /// This module's `f32` kernels. Sound to call only once `kernels` has detected the
        /// CPU features of `batch`'s `#[target_feature]`: hand out only from there.
        const F32: $crate::F32Kernels = $crate::F32Kernels {
            dot,
            l2_squared,
            norm_squared,
            dot_batch,
            l2_squared_batch,
            dot_x4,
            l2_squared_x4,
        };

        fn dot(a: &[f32], b: &[f32]) -> f32 {
            $crate::check_pair(a, b);
            // SAFETY: this shim is handed out (in `F32`) only by `kernels`, after the CPU
            // features `$features` were detected; the two lengths were just checked equal.
            unsafe { score_one::<false>(a, b) }
        }

        fn l2_squared(a: &[f32], b: &[f32]) -> f32 {
            $crate::check_pair(a, b);
            // SAFETY: as in `dot`.
            unsafe { score_one::<true>(a, b) }
        }

        fn norm_squared(a: &[f32]) -> f32 {
            // SAFETY: the CPU features were detected (see `dot`); both operands are `a`.
            unsafe { score_one::<false>(a, a) }
        }

        /// The score of `query` against one row, in the order its dimension selects.
        ///
        /// # Safety
        #[doc = concat!("The CPU must support `", $features, "`, and")]
        /// `row.len() == query.len()`.
        #[inline]
        #[target_feature(enable = $features)]
        unsafe fn score_one<const L2: bool>(query: &[f32], row: &[f32]) -> f32 {
            if query.len() <= NARROW_MAX {
                // SAFETY: per this function's contract.
                unsafe { score_narrow_one::<L2>(query, row) }
            } else {
                // SAFETY: per this function's contract.
                let [score] = unsafe { score_rows_at::<1, L2>(query, [row.as_ptr()]) };
                score
            }
        }

        fn dot_x4(query: &[f32], rows: [&[f32]; 4]) -> [f32; 4] {
            for row in rows {
                $crate::check_pair(query, row);
            }
            // SAFETY: the CPU features were detected (see `dot`); every row's length was just
            // checked equal to the query's.
            unsafe { score_four::<false>(query, rows) }
        }

        fn l2_squared_x4(query: &[f32], rows: [&[f32]; 4]) -> [f32; 4] {
            for row in rows {
                $crate::check_pair(query, row);
            }
            // SAFETY: as in `dot_x4`.
            unsafe { score_four::<true>(query, rows) }
        }

        /// The scores of `query` against four rows, each in the order its dimension selects
        /// (so bit-identical to `score_one` on that row).
        ///
        /// # Safety
        #[doc = concat!("The CPU must support `", $features, "`, and")]
        /// every row's length equals `query.len()`.
        #[inline]
        #[target_feature(enable = $features)]
        unsafe fn score_four<const L2: bool>(query: &[f32], rows: [&[f32]; 4]) -> [f32; 4] {
            if query.len() <= NARROW_MAX {
                let mut out = [0.0; 4];
                for (score, row) in out.iter_mut().zip(rows) {
                    // SAFETY: per this function's contract.
                    *score = unsafe { score_narrow_one::<L2>(query, row) };
                }
                out
            } else {
                // SAFETY: per this function's contract: each pointer is a row of
                // `query.len()` floats.
                unsafe { score_rows_at::<4, L2>(query, rows.map(<[f32]>::as_ptr)) }
            }
        }

        fn dot_batch(query: &[f32], rows: &[f32], out: &mut [f32]) {
            $crate::check_batch(query, rows, out);
            // SAFETY: the CPU features were detected (see `dot`); the layout of `rows` was
            // just checked.
            unsafe { batch::<false>(query, rows, out) }
        }

        fn l2_squared_batch(query: &[f32], rows: &[f32], out: &mut [f32]) {
            $crate::check_batch(query, rows, out);
            // SAFETY: as in `dot_batch`.
            unsafe { batch::<true>(query, rows, out) }
        }

        /// `out[i]` = score of `query` against row `i` of `rows`; `L2` selects squared L2
        /// distance over dot product.
        ///
        /// # Safety
        #[doc = concat!("The CPU must support `", $features, "`, and")]
        /// `rows.len() == out.len() * query.len()`.
        #[target_feature(enable = $features)]
        unsafe fn batch<const L2: bool>(query: &[f32], rows: &[f32], out: &mut [f32]) {
            let dim = query.len();
            if dim == 0 {
                out.fill(0.0);
                return;
            }
            if dim <= NARROW_MAX {
                let mut row_groups = rows.chunks_exact(dim * NARROW_ROWS);
                let (out_groups, last_scores) = out.as_chunks_mut::<NARROW_ROWS>();
                for (group, scores) in (&mut row_groups).zip(out_groups) {
                    // SAFETY: the CPU features per this function's contract; `group` is
                    // `NARROW_ROWS` rows of `dim`.
                    unsafe { score_narrow_group::<L2>(query, group, scores) };
                }
                let last_rows = row_groups.remainder().chunks_exact(dim);
                for (row, score) in last_rows.zip(last_scores) {
                    // SAFETY: the CPU features per this function's contract; `row` is one row
                    // of `dim`.
                    *score = unsafe { score_narrow_one::<L2>(query, row) };
                }
                return;
            }
            // Wider rows one at a time: one sequential stream, which the hardware prefetchers
            // follow (see the module documentation of the kernels).
            for (row, score) in rows.chunks_exact(dim).zip(out) {
                // SAFETY: the CPU features per this function's contract; `row` is one row of
                // `dim`.
                let [row_score] = unsafe { score_rows_at::<1, L2>(query, [row.as_ptr()]) };
                *score = row_score;
            }
        }
    };
}
pub(crate) use f32_shims;
