//! The F(4×4, 3×3) tile transforms of Lavin & Gray (interpolation points 0, ±1, ±2 and ∞):
//! a 6×6 input tile `d` becomes `V = Bᵀ d B`, a 3×3 filter `g` becomes `U = G g Gᵀ`, and the
//! 6×6 product `M = U ⊙ V` (summed over channels) becomes the 4×4 output `Y = Aᵀ M A`.
//!
//! The input and output transforms work on [`LANES`] tiles at once, one tile per lane, so each
//! step is one vector operation on every instruction set. They use plain multiplies and adds
//! (never fused), so every vector width gives bitwise the same numbers.

/// Tiles transformed side by side.
pub const LANES: usize = 16;

/// One value of each of [`LANES`] tiles.
pub type Lanes = [f32; LANES];

/// Values per transformed tile (6×6).
pub const TILE: usize = 36;

/// Output rows and columns per tile.
pub const OUT: usize = 4;

/// Input rows and columns per tile (`OUT` + 3 − 1).
pub const IN: usize = 6;

/// `Bᵀ d` along one axis of [`LANES`] tiles: `src[si[0..6]]` → `dst[di[0..6]]`.
#[inline(always)]
fn input_1d(src: &[Lanes; TILE], si: [usize; 6], dst: &mut [Lanes; TILE], di: [usize; 6]) {
    for l in 0..LANES {
        let [d0, d1, d2, d3, d4, d5] = si.map(|k| src[k][l]);
        let a = d4 - 4.0 * d2;
        let b = d3 - 4.0 * d1;
        let c = d4 - d2;
        let e = 2.0 * (d3 - d1);
        dst[di[0]][l] = 4.0 * d0 - 5.0 * d2 + d4;
        dst[di[1]][l] = a + b;
        dst[di[2]][l] = a - b;
        dst[di[3]][l] = c + e;
        dst[di[4]][l] = c - e;
        dst[di[5]][l] = 4.0 * d1 - 5.0 * d3 + d5;
    }
}

/// `V = Bᵀ d B` of [`LANES`] tiles; `d[i·6 + j]` is row `i`, column `j` of every tile, and `t`
/// is scratch (fully overwritten).
#[inline(always)]
pub fn input_tiles(d: &[Lanes; TILE], t: &mut [Lanes; TILE], v: &mut [Lanes; TILE]) {
    for j in 0..IN {
        let col = std::array::from_fn(|i| i * IN + j);
        input_1d(d, col, t, col);
    }
    for r in 0..IN {
        let row = std::array::from_fn(|q| r * IN + q);
        input_1d(t, row, v, row);
    }
}

/// `Aᵀ m` along one axis of [`LANES`] tiles: `src[si[0..6]]` → `dst[di[0..4]]`.
#[inline(always)]
fn output_1d<const N: usize>(src: &[Lanes; TILE], si: [usize; 6], dst: &mut [Lanes; N], di: [usize; 4]) {
    for l in 0..LANES {
        let [m0, m1, m2, m3, m4, m5] = si.map(|k| src[k][l]);
        let a = m1 + m2;
        let b = m1 - m2;
        let c = m3 + m4;
        let d = m3 - m4;
        dst[di[0]][l] = m0 + a + c;
        dst[di[1]][l] = b + 2.0 * d;
        dst[di[2]][l] = a + 4.0 * c;
        dst[di[3]][l] = b + 8.0 * d + m5;
    }
}

/// `Y = Aᵀ m A` of [`LANES`] tiles; `y[r·4 + q]` is output row `r`, column `q`, and `t` is
/// scratch (its first 24 rows are overwritten).
#[inline(always)]
pub fn output_tiles(m: &[Lanes; TILE], t: &mut [Lanes; TILE], y: &mut [Lanes; OUT * OUT]) {
    for j in 0..IN {
        output_1d(
            m,
            std::array::from_fn(|i| i * IN + j),
            t,
            std::array::from_fn(|r| r * IN + j),
        );
    }
    for r in 0..OUT {
        output_1d(
            t,
            std::array::from_fn(|q| r * IN + q),
            y,
            std::array::from_fn(|q| r * OUT + q),
        );
    }
}

/// `G g` along one axis, in f64 (filters are transformed once per call, so exactness is cheap).
fn filter_1d(g: [f64; 3]) -> [f64; 6] {
    let [g0, g1, g2] = g;
    [
        g0 / 4.0,
        -(g0 + g1 + g2) / 6.0,
        -(g0 - g1 + g2) / 6.0,
        g0 / 24.0 + g1 / 12.0 + g2 / 6.0,
        g0 / 24.0 - g1 / 12.0 + g2 / 6.0,
        g2,
    ]
}

/// `U = G g Gᵀ` of one 3×3 filter `g` (row-major), rounded once to f32.
pub fn filter_tile(g: [f32; 9]) -> [f32; TILE] {
    let g = g.map(f64::from);
    let mut t = [[0.0; 3]; IN];
    for j in 0..3 {
        for (r, v) in filter_1d([g[j], g[3 + j], g[6 + j]]).into_iter().enumerate() {
            t[r][j] = v;
        }
    }
    let mut u = [0.0; TILE];
    for (r, row) in t.iter().enumerate() {
        for (q, v) in filter_1d(*row).into_iter().enumerate() {
            u[r * IN + q] = v as f32;
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
        let (mut t, mut v) = ([[0.0; LANES]; TILE], [[0.0; LANES]; TILE]);
        input_tiles(&lanes, &mut t, &mut v);
        let u = filter_tile(g);
        let mut m = [[0.0; LANES]; TILE];
        for i in 0..TILE {
            m[i] = v[i].map(|x| x * u[i]);
        }
        let mut y = [[0.0; LANES]; OUT * OUT];
        output_tiles(&m, &mut t, &mut y);
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
