// canonical_dots.comp - the dot products of coe.similarity/2's dense
// vectors, summed exactly as coe/ops/similarity.h specifies: sixteen lanes,
// term k to lane k mod 16 in increasing k, each product rounded to float
// before the add, then the halves folded (8, 4, 2, 1).
//
// Every arithmetic result is `precise` (SPIR-V NoContraction), so no driver
// may fuse a multiply and an add.  Vulkan's OpFAdd and OpFMul are correctly
// rounded (round to nearest even), which is all the sums need; division and
// square roots are not, so the norms and cosines are computed by the plugin
// on the CPU from these dots.
//
// One invocation per pair (i, j) with j >= i of the rows row0 .. row0 +
// rows_in_block - 1: dots[(i - row0) * n + j]; pairs with j < i are not
// written.  The plugin dispatches the matrix in blocks of rows so that the
// output stays within the device's storage-buffer range.
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

void main() {
    const uint j = gl_GlobalInvocationID.x;
    if (gl_GlobalInvocationID.y >= shape.rows_in_block) return;
    const uint i = shape.row0 + gl_GlobalInvocationID.y;
    if (j >= shape.n || j < i) return;
    const uint a = i * shape.d, b = j * shape.d;
    const uint full = shape.d / 16u * 16u;
    precise float p0 = 0.0, p1 = 0.0, p2 = 0.0, p3 = 0.0, p4 = 0.0, p5 = 0.0, p6 = 0.0, p7 = 0.0;
    precise float p8 = 0.0, p9 = 0.0, p10 = 0.0, p11 = 0.0, p12 = 0.0, p13 = 0.0, p14 = 0.0, p15 = 0.0;
    for (uint k = 0u; k < full; k += 16u) {
        p0 = p0 + rows[a + k] * rows[b + k];
        p1 = p1 + rows[a + k + 1u] * rows[b + k + 1u];
        p2 = p2 + rows[a + k + 2u] * rows[b + k + 2u];
        p3 = p3 + rows[a + k + 3u] * rows[b + k + 3u];
        p4 = p4 + rows[a + k + 4u] * rows[b + k + 4u];
        p5 = p5 + rows[a + k + 5u] * rows[b + k + 5u];
        p6 = p6 + rows[a + k + 6u] * rows[b + k + 6u];
        p7 = p7 + rows[a + k + 7u] * rows[b + k + 7u];
        p8 = p8 + rows[a + k + 8u] * rows[b + k + 8u];
        p9 = p9 + rows[a + k + 9u] * rows[b + k + 9u];
        p10 = p10 + rows[a + k + 10u] * rows[b + k + 10u];
        p11 = p11 + rows[a + k + 11u] * rows[b + k + 11u];
        p12 = p12 + rows[a + k + 12u] * rows[b + k + 12u];
        p13 = p13 + rows[a + k + 13u] * rows[b + k + 13u];
        p14 = p14 + rows[a + k + 14u] * rows[b + k + 14u];
        p15 = p15 + rows[a + k + 15u] * rows[b + k + 15u];
    }
    // the last d mod 16 terms, one per lane from lane 0 (a lane without a
    // term keeps its sum: adding a zero-padded term would change nothing)
    const uint rest = shape.d - full;
    if (rest > 0u) p0 = p0 + rows[a + full] * rows[b + full];
    if (rest > 1u) p1 = p1 + rows[a + full + 1u] * rows[b + full + 1u];
    if (rest > 2u) p2 = p2 + rows[a + full + 2u] * rows[b + full + 2u];
    if (rest > 3u) p3 = p3 + rows[a + full + 3u] * rows[b + full + 3u];
    if (rest > 4u) p4 = p4 + rows[a + full + 4u] * rows[b + full + 4u];
    if (rest > 5u) p5 = p5 + rows[a + full + 5u] * rows[b + full + 5u];
    if (rest > 6u) p6 = p6 + rows[a + full + 6u] * rows[b + full + 6u];
    if (rest > 7u) p7 = p7 + rows[a + full + 7u] * rows[b + full + 7u];
    if (rest > 8u) p8 = p8 + rows[a + full + 8u] * rows[b + full + 8u];
    if (rest > 9u) p9 = p9 + rows[a + full + 9u] * rows[b + full + 9u];
    if (rest > 10u) p10 = p10 + rows[a + full + 10u] * rows[b + full + 10u];
    if (rest > 11u) p11 = p11 + rows[a + full + 11u] * rows[b + full + 11u];
    if (rest > 12u) p12 = p12 + rows[a + full + 12u] * rows[b + full + 12u];
    if (rest > 13u) p13 = p13 + rows[a + full + 13u] * rows[b + full + 13u];
    if (rest > 14u) p14 = p14 + rows[a + full + 14u] * rows[b + full + 14u];
    // the halves folded: lane l + lane l + 8, then + 4, + 2, + 1
    p0 = p0 + p8; p1 = p1 + p9; p2 = p2 + p10; p3 = p3 + p11;
    p4 = p4 + p12; p5 = p5 + p13; p6 = p6 + p14; p7 = p7 + p15;
    p0 = p0 + p4; p1 = p1 + p5; p2 = p2 + p6; p3 = p3 + p7;
    p0 = p0 + p2; p1 = p1 + p3;
    p0 = p0 + p1;
    dots[(i - shape.row0) * shape.n + j] = p0;
}
