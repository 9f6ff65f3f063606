// word_sums.comp - the sums of coe.embed_words/1 (coe/ops/embed_words.h):
// for text t and lane d, acc = 0, then for each of the text's weighted
// words in token order acc = acc + weight * value[row][d], the product
// rounded to float before the add.  The plugin's host code finds the words,
// drops those of weight 0, and divides by the norm afterwards (in double,
// correctly rounded, which Vulkan does not promise).
//
// Every arithmetic result is `precise` (SPIR-V NoContraction): no driver may
// fuse the multiply and the add.  binary16 values are widened with integer
// operations and one multiplication by a power of two (exact), not with the
// driver's half conversion, which may flush a subnormal half to zero.
//
// One invocation per (lane, text): lanes run along x, 64 to a workgroup (a
// text's tokens are read once per workgroup and its lanes' values lie side
// by side), texts along y from text0.  A dispatch adds at most 2^15 tokens
// of each text; the plugin dispatches as many passes as the longest text
// needs, in order.  Mesa's llvmpipe (lavapipe) ends any shader loop after
// 65,535 iterations (its guard against endless loops), and a 1 MiB text has
// more tokens than that.
#version 450

layout(local_size_x = 64, local_size_y = 1, local_size_z = 1) in;

layout(std430, set = 0, binding = 0) readonly buffer Values { uint values[]; };  // binary16, two to a uint, row-major
layout(std430, set = 0, binding = 1) readonly buffer Tokens { uvec2 tokens[]; };  // (row, weight's bits)
layout(std430, set = 0, binding = 2) readonly buffer Offsets { uint offsets[]; };  // text t: tokens offsets[t] ..
layout(std430, set = 0, binding = 3) buffer Sums { float sums[]; };  // text t, lane d: t * dims + d

layout(push_constant) uniform Shape {
    uint dims;   // lanes per vector
    uint text0;  // the first text of this dispatch
    uint first;  // the pass's first token within each text: a multiple of 2^15
} shape;

// binary16 to float, exactly (the values hold no infinity or NaN: the
// plugin checks them first).
float widen(uint h) {
    const uint sign = (h & 0x8000u) << 16;
    const uint rest = h & 0x7fffu;
    if (rest >= 0x0400u) return uintBitsToFloat(sign | ((rest << 13) + 0x38000000u));  // normal: rebiased
    precise float magnitude = float(rest) * 5.9604644775390625e-8;  // subnormal or zero: rest units of 2^-24
    return sign != 0u ? -magnitude : magnitude;
}

void main() {
    const uint d = gl_GlobalInvocationID.x;
    if (d >= shape.dims) return;
    const uint t = shape.text0 + gl_WorkGroupID.y;
    // this pass's tokens of the text: at most 2^15 of them from
    // shape.first on; a later pass goes on from the sum an earlier one wrote
    const uint end = offsets[t + 1u];
    const uint begin = offsets[t] + shape.first;
    if (shape.first > 0u && begin >= end) return;  // the text's sum is already whole
    const uint run_end = min(end, begin + 32768u);
    precise float acc = shape.first == 0u ? 0.0 : sums[t * shape.dims + d];
    for (uint k = begin; k < run_end; ++k) {
        const uvec2 token = tokens[k];
        const uint index = token.x * shape.dims + d;
        const uint half_bits = (values[index >> 1] >> ((index & 1u) * 16u)) & 0xffffu;
        precise float product = uintBitsToFloat(token.y) * widen(half_bits);
        acc = acc + product;
    }
    sums[t * shape.dims + d] = acc;
}
