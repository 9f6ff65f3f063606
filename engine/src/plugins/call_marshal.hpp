// call_marshal.hpp - an operation's argument struct and the buffers it
// points to, laid out in a region of memory shared with a worker process
// (plugins/isolated_plugin.hpp), and back.
//
// Region layout: [0, message_bytes) the plugin's error message; then the
// argument struct, copied, with every pointer field replaced by an offset
// into the region (stored as offset + 1 in the pointer's 8 bytes; 0 is
// NULL); then each buffer the struct points to, 64-byte aligned.  Inputs
// are copied in before the call; the struct's scalar outputs and the output
// buffers are copied back after it.  The sizes of all buffers follow from
// the struct's inputs (coe/ops/*.h), so the region is sized before the call.
// Pure functions on caller memory; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace coe::detail::marshal {

enum class OpKind { unknown, featurize, similarity, cluster, consensus, aggregate, embed_words };

// The kind of an operation id ("coe.similarity"), unknown for any other.
OpKind kind_of(std::string_view op_id);

constexpr std::size_t message_bytes = 512;
constexpr std::size_t args_offset = message_bytes;

// Bytes the region needs for this call; 0 if the arguments describe buffers
// too large to address (the call then fails with COE_ERR_INVALID_ARGUMENT).
std::size_t region_bytes(OpKind kind, const void *args);

// Writes the struct and the inputs into `region` (region_bytes(kind, args)
// bytes).
void pack(OpKind kind, const void *args, std::byte *region);

// After the call: the struct's non-pointer fields from the region into
// `args` (the pointers stay the caller's), and, when `outputs`, the output
// buffers' contents.
void unpack(OpKind kind, void *args, const std::byte *region, bool outputs);

// In the worker: turns the offsets of the struct at args_offset (and of the
// arrays of texts and the word table it points to) into pointers into
// `region`.  False when an offset lies outside the region's `size` bytes.
bool rebase(OpKind kind, std::byte *region, std::size_t size);

}  // namespace coe::detail::marshal
