// canonical_dots_tiled.comp - the same dot products as canonical_dots.comp,
// summed in exactly the same order (sixteen lanes, term k to lane k mod 16
// in increasing k, each product rounded before the add, the halves folded),
// with the rows staged through shared memory: a workgroup of 16 x 16
// invocations computes a 16 x 16 tile of pairs, and for each run of 16 terms
// it loads the tile's 16 + 16 rows' slices once, coalesced, instead of every
// invocation reading both of its rows from device memory.
//
// Terms past the dimension are loaded as zeros: the product 0 * 0 = +0 added
// to a lane leaves it unchanged (a lane's sum is never -0 here, see
// dense_similarity.cpp on subnormals), so the padded lanes keep the sums the
// specification gives them.
//
// Every arithmetic result is `precise` (SPIR-V NoContraction).  Output:
// dots[(i - row0) * n + j] for j >= i in the block; nothing else is written.
#version 450

layout(local_size_x = 16, local_size_y = 16, local_size_z = 1) in;

layout(std430, set = 0, binding = 0) readonly buffer Rows { float rows[]; };
layout(std430, set = 0, binding = 1) writeonly buffer Dots { float dots[]; };

layout(push_constant) uniform Shape {
    uint n;              // vectors
    uint d;              // floats per vector, rows packed (stride d)
    uint row0;           // first row of this block
    uint rows_in_block;  // rows of this block
} shape;

shared float tile_i[16][17];  // [row of the tile][term], padded against bank conflicts
shared float tile_j[16][17];

void main() {
    const uint tx = gl_LocalInvocationID.x, ty = gl_LocalInvocationID.y;
    const uint i0 = shape.row0 + gl_WorkGroupID.y * 16u, j0 = gl_WorkGroupID.x * 16u;
    // a tile wholly below the diagonal has no pair to compute (uniform per workgroup)
    if (j0 + 15u < i0) return;
    const uint row_end = shape.row0 + shape.rows_in_block;
    const uint i = i0 + ty, j = j0 + tx;
    // the rows this invocation loads: row i0 + ty of the i side, j0 + ty of the j side
    const uint load_i = i0 + ty, load_j = j0 + ty;
    const bool has_i = load_i < row_end, has_j = load_j < shape.n;
    precise float p[16];
    for (uint l = 0u; l < 16u; ++l) p[l] = 0.0;
    for (uint k = 0u; k < shape.d; k += 16u) {
        const uint t = k + tx;
        tile_i[ty][tx] = (has_i && t < shape.d) ? rows[load_i * shape.d + t] : 0.0;
        tile_j[ty][tx] = (has_j && t < shape.d) ? rows[load_j * shape.d + t] : 0.0;
        barrier();
        for (uint l = 0u; l < 16u; ++l) {
            precise float product = tile_i[ty][l] * tile_j[tx][l];
            p[l] = p[l] + product;
        }
        barrier();
    }
    if (i >= row_end || j >= shape.n || j < i) return;
    for (uint l = 0u; l < 8u; ++l) p[l] = p[l] + p[l + 8u];
    for (uint l = 0u; l < 4u; ++l) p[l] = p[l] + p[l + 4u];
    for (uint l = 0u; l < 2u; ++l) p[l] = p[l] + p[l + 2u];
    p[0] = p[0] + p[1];
    dots[(i - shape.row0) * shape.n + j] = p[0];
}
