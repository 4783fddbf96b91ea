//! The F(4×4, 3×3) tile transforms of Lavin & Gray (interpolation points 0, ±1, ±2 and ∞):
//! a 6×6 input tile `d` becomes `V = Bᵀ d B`, a 3×3 filter `g` becomes `U = G g Gᵀ`, and the
//! 6×6 product `M = U ⊙ V` (summed over channels) becomes the 4×4 output `Y = Aᵀ M A`.
//!
//! The input and output transforms work on [`LANES`] tiles at once, one tile per lane, so each
//! step is one vector operation on every instruction set. They use plain multiplies and adds
//! (never fused), so every vector width gives bitwise the same numbers; they are written over
//! [`Vector`], the lanes as each path's registers.

use super::vector::Vector;
pub use super::vector::{LANES, Lanes};

/// Values per transformed tile (6×6).
pub const TILE: usize = 36;

/// Output rows and columns per tile.
pub const OUT: usize = 4;

/// Input rows and columns per tile (`OUT` + 3 − 1).
pub const IN: usize = 6;

/// `Bᵀ d` along one axis of [`LANES`] tiles: six values of each tile in, six out.
#[inline(always)]
pub fn input_1d<V: Vector>(d: [V; IN]) -> [V; IN] {
    let [d0, d1, d2, d3, d4, d5] = d;
    let a = d4.sub(d2.scale(4.0));
    let b = d3.sub(d1.scale(4.0));
    let c = d4.sub(d2);
    let e = d3.sub(d1).scale(2.0);
    [
        d0.scale(4.0).sub(d2.scale(5.0)).add(d4),
        a.add(b),
        a.sub(b),
        c.add(e),
        c.sub(e),
        d1.scale(4.0).sub(d3.scale(5.0)).add(d5),
    ]
}

/// One value per lane, `f(lane)`: each use compiles to one vector operation.
#[inline(always)]
fn lanes<T: Copy + Default>(f: impl Fn(usize) -> T) -> [T; LANES] {
    let mut v = [T::default(); LANES];
    for (l, v) in v.iter_mut().enumerate() {
        *v = f(l);
    }
    v
}

/// `V = Bᵀ d B` of [`LANES`] tiles: `load(i·6 + j)` gives row `i`, column `j` of every tile,
/// and `store(ξ, v)` takes value `ξ` (row-major 6×6) of every transformed tile. Each value is
/// loaded and stored once.
///
/// Only small closures go in: the body is plain code, because a closure that is not inlined
/// would be compiled without the caller's vector instructions.
#[inline(always)]
pub fn input_tiles<V: Vector>(load: impl Fn(usize) -> V, store: impl FnMut(usize, V)) {
    // Along each row first (t[i] is row i's transform), then along each column. (No helper
    // closures: one that is not inlined loses the caller's vector instructions.)
    let t = [
        input_1d([load(0), load(1), load(2), load(3), load(4), load(5)]),
        input_1d([load(6), load(7), load(8), load(9), load(10), load(11)]),
        input_1d([load(12), load(13), load(14), load(15), load(16), load(17)]),
        input_1d([load(18), load(19), load(20), load(21), load(22), load(23)]),
        input_1d([load(24), load(25), load(26), load(27), load(28), load(29)]),
        input_1d([load(30), load(31), load(32), load(33), load(34), load(35)]),
    ];
    input_columns(t, store);
}

/// The second half of [`input_tiles`]: `t[i]` is row `i` already transformed along the row
/// ([`input_1d`]); each column is transformed and value `ξ` (row-major 6×6) of every tile goes
/// to `store(ξ, v)`.
#[inline(always)]
#[allow(clippy::needless_range_loop)] // the loop walks the columns of row-major tiles
pub fn input_columns<V: Vector>(t: [[V; IN]; IN], mut store: impl FnMut(usize, V)) {
    for q in 0..IN {
        let col = input_1d([t[0][q], t[1][q], t[2][q], t[3][q], t[4][q], t[5][q]]);
        for (r, v) in col.into_iter().enumerate() {
            store(r * IN + q, v);
        }
    }
}

/// `Aᵀ m` along one axis of [`LANES`] tiles: six values of each tile in, four out.
#[inline(always)]
fn output_1d<V: Vector>(m: [V; IN]) -> [V; OUT] {
    let [m0, m1, m2, m3, m4, m5] = m;
    let a = m1.add(m2);
    let b = m1.sub(m2);
    let c = m3.add(m4);
    let d = m3.sub(m4);
    [
        m0.add(a).add(c),
        b.add(d.scale(2.0)),
        a.add(c.scale(4.0)),
        b.add(d.scale(8.0)).add(m5),
    ]
}

/// `Y = Aᵀ m A` of [`LANES`] tiles: `load(ξ)` gives value `ξ` (row-major 6×6) of every tile;
/// `y[r][q]` is output row `r`, column `q` of every tile.
#[inline(always)]
pub fn output_tiles<V: Vector>(load: impl Fn(usize) -> V) -> [[V; OUT]; OUT] {
    // Along each column first (t[j][r]: row r of column j's transform), then along each row.
    let t = [
        output_1d([load(0), load(6), load(12), load(18), load(24), load(30)]),
        output_1d([load(1), load(7), load(13), load(19), load(25), load(31)]),
        output_1d([load(2), load(8), load(14), load(20), load(26), load(32)]),
        output_1d([load(3), load(9), load(15), load(21), load(27), load(33)]),
        output_1d([load(4), load(10), load(16), load(22), load(28), load(34)]),
        output_1d([load(5), load(11), load(17), load(23), load(29), load(35)]),
    ];
    [
        output_1d([t[0][0], t[1][0], t[2][0], t[3][0], t[4][0], t[5][0]]),
        output_1d([t[0][1], t[1][1], t[2][1], t[3][1], t[4][1], t[5][1]]),
        output_1d([t[0][2], t[1][2], t[2][2], t[3][2], t[4][2], t[5][2]]),
        output_1d([t[0][3], t[1][3], t[2][3], t[3][3], t[4][3], t[5][3]]),
    ]
}

/// One value of each of [`LANES`] filters, in f64.
pub type Lanes64 = [f64; LANES];

/// `G g` along one axis of [`LANES`] filters, in f64 (filters are transformed once per pass, so
/// exactness is cheap). Sixths as multiplications: f64 divisions had been most of the filter
/// transform's time, and the one-ulp difference in f64 vanishes in the rounding to f32.
#[inline(always)]
fn filter_1d(g: [Lanes64; 3]) -> [Lanes64; IN] {
    let [g0, g1, g2] = g;
    const SIXTH: f64 = 1.0 / 6.0;
    [
        lanes(|l| g0[l] * 0.25),
        lanes(|l| -(g0[l] + g1[l] + g2[l]) * SIXTH),
        lanes(|l| -(g0[l] - g1[l] + g2[l]) * SIXTH),
        lanes(|l| (g0[l] * 0.25 + g1[l] * 0.5 + g2[l]) * SIXTH),
        lanes(|l| (g0[l] * 0.25 - g1[l] * 0.5 + g2[l]) * SIXTH),
        g2,
    ]
}

/// `U = G g Gᵀ` of [`LANES`] 3×3 filters (`g[k]`: value `k`, row-major, of every filter),
/// rounded once to f32: `u[ξ]` is value `ξ` (row-major 6×6) of every transformed filter.
#[inline(always)]
pub fn filter_tiles(g: &[Lanes64; 9]) -> [Lanes; TILE] {
    // Down each column first (t[r][j]: row r of column j's transform), then along each row.
    let cols = [
        filter_1d([g[0], g[3], g[6]]),
        filter_1d([g[1], g[4], g[7]]),
        filter_1d([g[2], g[5], g[8]]),
    ];
    let mut u = [[0.0; LANES]; TILE];
    for r in 0..IN {
        let row = filter_1d([cols[0][r], cols[1][r], cols[2][r]]);
        for (q, v) in row.iter().enumerate() {
            u[r * IN + q] = lanes(|l| v[l] as f32);
        }
    }
    u
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 6×6 input tile, a 3×3 filter: the transforms give the 4×4 valid correlation.
    #[test]
    fn one_tile_is_the_valid_correlation() {
        let d: Vec<f32> = (0..36).map(|i| ((i * 37 % 23) as f32 - 11.0) / 7.0).collect();
        let g: [f32; 9] = std::array::from_fn(|i| ((i * 5 % 7) as f32 - 3.0) / 4.0);
        let mut lanes = [[0.0; LANES]; TILE];
        for (i, v) in d.iter().enumerate() {
            lanes[i] = [*v; LANES];
        }
        let mut v = [[0.0; LANES]; TILE];
        input_tiles(|k| lanes[k], |xi, lanes| v[xi] = lanes);
        let u = filter_tiles(&g.map(|v| [v as f64; LANES])).map(|lanes| lanes[0]);
        let mut m = [[0.0; LANES]; TILE];
        for i in 0..TILE {
            m[i] = v[i].map(|x| x * u[i]);
        }
        let mut y = [[0.0; LANES]; OUT * OUT];
        let rows = output_tiles(|xi| m[xi]);
        for (r, row) in rows.iter().enumerate() {
            y[r * OUT..(r + 1) * OUT].copy_from_slice(row);
        }
        for r in 0..4 {
            for q in 0..4 {
                let want: f64 = (0..9)
                    .map(|k| d[(r + k / 3) * 6 + q + k % 3] as f64 * g[k] as f64)
                    .sum();
                let got = y[r * 4 + q][LANES - 1] as f64;
                assert!((got - want).abs() < 1e-5, "({r},{q}): {got} vs {want}");
            }
        }
    }
}
