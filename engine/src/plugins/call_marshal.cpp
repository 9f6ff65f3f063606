#include "call_marshal.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <type_traits>

#include "coe/coe_plugin.h"

namespace coe::detail::marshal {
namespace {

static_assert(sizeof(void *) == sizeof(std::uint64_t), "offsets are stored in pointer fields");

constexpr std::size_t too_big = std::numeric_limits<std::size_t>::max();
constexpr std::size_t alignment = 64;

std::size_t mul(std::uint64_t a, std::uint64_t b) {
    std::uint64_t r = 0;
    if (__builtin_mul_overflow(a, b, &r) || r > (std::uint64_t{1} << 46)) return too_big;
    return static_cast<std::size_t>(r);
}

// Bytes of `rows` rows of `width` elements, `stride` elements apart.
std::size_t matrix_bytes(std::uint64_t rows, std::uint64_t stride, std::uint64_t width, std::size_t elem) {
    if (rows == 0) return 0;
    const std::size_t span = mul(rows - 1, std::max(stride, width));
    if (span == too_big || mul(width, 1) == too_big) return too_big;
    return mul(span + width, elem);
}

std::size_t align_up(std::size_t n, std::size_t a) { return n == too_big ? too_big : (n + a - 1) / a * a; }

std::size_t field_pos(const void *field, const void *base) {
    return static_cast<std::size_t>(static_cast<const std::byte *>(field) - static_cast<const std::byte *>(base));
}

// ---- the operations' pointer fields, in one place for every visitor -------
// v.in(field, size), v.out(field, size): a buffer and a callable giving its
// bytes (called only on the host, where every pointer is the caller's);
// v.texts(texts, lengths, count); v.table(table).

template <class T, class V>
void visit_table(T &t, V &v) {
    v.in(t.slots, [&] { return mul(mul(t.slot_count, 2), 4); });
    v.in(t.word_offsets, [&] { return mul(std::uint64_t{t.word_count} + 1, 4); });
    v.in(t.words, [&] { return t.word_offsets ? std::size_t{t.word_offsets[t.word_count]} : 0; });
    v.in(t.weights, [&] { return mul(t.word_count, 4); });
    v.in(t.values, [&] { return mul(mul(t.word_count, t.dims), 2); });
}

template <class A, class V>
void visit_args(A &a, V &v, coe_featurize_args *) {
    v.in(a.text_lengths, [&] { return mul(a.text_count, 8); });
    v.texts(a.texts, a.text_lengths, a.text_count);
    v.out(a.row_offsets, [&] { return mul(std::uint64_t{a.text_count} + 1, 8); });
    v.out(a.indices, [&] { return mul(a.entry_capacity, 4); });
    v.out(a.values, [&] { return mul(a.entry_capacity, 4); });
}

template <class A, class V>
void visit_args(A &a, V &v, coe_similarity_args *) {
    const bool dense = a.kind == COE_VECTORS_DENSE, sparse = a.kind == COE_VECTORS_SPARSE;
    v.in(a.dense, [&] { return dense ? matrix_bytes(a.count, a.dense_stride, a.dimension, 4) : 0; });
    auto entries = [&]() -> std::uint64_t { return sparse && a.row_offsets ? a.row_offsets[a.count] : 0; };
    v.in(a.indices, [&] { return mul(entries(), 4); });
    v.in(a.values, [&] { return mul(entries(), 4); });
    v.in(a.row_offsets, [&] { return sparse ? mul(std::uint64_t{a.count} + 1, 8) : 0; });
    v.out(a.out, [&] { return matrix_bytes(a.count, a.out_stride, a.count, 4); });
}

template <class A, class V>
void visit_args(A &a, V &v, coe_cluster_args *) {
    v.in(a.similarity, [&] { return matrix_bytes(a.count, a.similarity_stride, a.count, 4); });
    v.out(a.labels, [&] { return mul(a.count, 4); });
}

template <class A, class V>
void visit_args(A &a, V &v, coe_consensus_args *) {
    v.in(a.similarity, [&] { return matrix_bytes(a.count, a.similarity_stride, a.count, 4); });
    v.in(a.weights, [&] { return mul(a.count, 4); });
    v.in(a.labels, [&] { return mul(a.count, 4); });
    v.out(a.centrality, [&] { return mul(a.count, 4); });
    v.out(a.robust_z, [&] { return mul(a.count, 4); });
    v.out(a.outlier, [&] { return mul(a.count, 1); });
    v.out(a.cluster_share, [&] { return mul(a.cluster_count, 4); });
    v.out(a.cluster_cohesion, [&] { return mul(a.cluster_count, 4); });
    v.out(a.cluster_representative, [&] { return mul(a.cluster_count, 4); });
}

template <class A, class V>
void visit_args(A &a, V &v, coe_aggregate_args *) {
    v.in(a.item_group, [&] { return mul(a.item_count, 4); });
    v.in(a.item_expert, [&] { return mul(a.item_count, 4); });
    v.in(a.similarity, [&] { return matrix_bytes(a.item_count, a.similarity_stride, a.item_count, 4); });
    v.in(a.expert_weights, [&] { return mul(a.expert_count, 4); });
    v.out(a.supporters, [&] { return mul(a.group_count, 4); });
    v.out(a.support, [&] { return mul(a.group_count, 4); });
    v.out(a.confidence, [&] { return mul(a.group_count, 4); });
    v.out(a.representative, [&] { return mul(a.group_count, 4); });
    v.out(a.consensus, [&] { return mul(a.group_count, 1); });
    v.out(a.ranking, [&] { return mul(a.group_count, 4); });
}

template <class A, class V>
void visit_args(A &a, V &v, coe_embed_words_args *) {
    v.in(a.text_lengths, [&] { return mul(a.text_count, 8); });
    v.texts(a.texts, a.text_lengths, a.text_count);
    v.table(a.table);
    v.out(a.vectors, [&] { return a.table ? matrix_bytes(a.text_count, a.vector_stride, a.table->dims, 4) : 0; });
    v.out(a.known_words, [&] { return mul(a.text_count, 4); });
}

template <class F>
auto with_struct(OpKind kind, F &&f) {
    switch (kind) {
    case OpKind::featurize: return f(static_cast<coe_featurize_args *>(nullptr));
    case OpKind::similarity: return f(static_cast<coe_similarity_args *>(nullptr));
    case OpKind::cluster: return f(static_cast<coe_cluster_args *>(nullptr));
    case OpKind::consensus: return f(static_cast<coe_consensus_args *>(nullptr));
    case OpKind::aggregate: return f(static_cast<coe_aggregate_args *>(nullptr));
    case OpKind::embed_words: return f(static_cast<coe_embed_words_args *>(nullptr));
    case OpKind::unknown: break;
    }
    return f(static_cast<coe_featurize_args *>(nullptr));  // never reached: callers check the kind
}

void put_offset(std::byte *slot, const void *pointer, std::size_t offset) {
    const std::uint64_t v = pointer == nullptr ? 0 : offset + 1;
    std::memcpy(slot, &v, sizeof v);
}

// ---- host: size ------------------------------------------------------------
struct Sizer {
    std::size_t total;
    void grow(std::size_t bytes, std::size_t a = alignment) {
        total = bytes == too_big || total == too_big || total + bytes < total ? too_big : align_up(total + bytes, a);
    }
    template <class P, class S>
    void in(P *const &field, S size) {
        if (field != nullptr) grow(size());
    }
    template <class P, class S>
    void out(P *const &field, S size) {
        in(field, size);
    }
    void texts(const char *const *const &field, const std::uint64_t *lengths, std::uint32_t count) {
        if (field == nullptr) return;
        grow(mul(count, 8));
        for (std::uint32_t i = 0; i < count && lengths != nullptr; ++i) grow(static_cast<std::size_t>(lengths[i]), 8);
    }
    void table(const coe_word_table *const &t) {
        if (t == nullptr) return;
        grow(sizeof(coe_word_table));
        visit_table(*t, *this);
    }
};

// ---- host: copy in, copy out ----------------------------------------------
// Both directions walk the same layout, so the offsets the worker was given
// (which it overwrote with its own pointers) are found again here.
struct Walker {
    bool packing;  // true: copy in; false: copy out
    bool outputs;  // copying out: the output buffers too
    std::byte *region;
    std::size_t cursor;
    const void *host_base;  // the struct being visited (the caller's, as it was before the call)
    std::byte *copy_base;   // packing: its copy in the region
    void *restore_base;     // copying out: the caller's struct, whose pointers are put back

    std::size_t place(const void *from, std::size_t bytes, std::size_t a = alignment) {
        const std::size_t at = cursor;
        if (bytes == too_big) bytes = 0;  // never: region_bytes() refused the call
        if (packing && from != nullptr && bytes > 0) std::memcpy(region + at, from, bytes);
        cursor = align_up(cursor + bytes, a);
        return at;
    }
    // Packing: the field's copy gets `at` (or NULL); copying out: the
    // caller's field gets its own pointer back.
    void settle(const void *field, const void *pointer, std::size_t at) {
        const std::size_t pos = field_pos(field, host_base);
        if (packing) put_offset(copy_base + pos, pointer, at);
        else if (restore_base != nullptr)
            std::memcpy(static_cast<std::byte *>(restore_base) + pos, field, sizeof(void *));
    }
    template <class P, class S>
    void in(P *const &field, S size) {
        settle(&field, field, field == nullptr ? 0 : place(field, size()));
    }
    // Packing: an output goes over as the caller handed it over too (the
    // engine fills outputs with values no result may hold), so a value the
    // plugin leaves unwritten fails the result check in a worker as it does
    // in process, instead of passing with what an earlier call left there.
    template <class P, class S>
    void out(P *const &field, S size) {
        if (field == nullptr) return settle(&field, field, 0);
        const std::size_t bytes = size();
        const std::size_t at = place(field, bytes);
        settle(&field, field, at);
        if (!packing && outputs && bytes != too_big && bytes > 0)
            std::memcpy(const_cast<std::remove_const_t<P> *>(field), region + at, bytes);
    }
    void texts(const char *const *const &field, const std::uint64_t *lengths, std::uint32_t count) {
        if (field == nullptr) return settle(&field, field, 0);
        const std::size_t array = place(nullptr, mul(count, 8));
        settle(&field, field, array);
        for (std::uint32_t i = 0; i < count && lengths != nullptr; ++i) {
            const std::size_t at = place(field[i], static_cast<std::size_t>(lengths[i]), 8);
            if (packing) put_offset(region + array + std::size_t{i} * 8, field[i] == nullptr ? nullptr : region, at);
        }
    }
    void table(const coe_word_table *const &t) {
        if (t == nullptr) return settle(&t, t, 0);
        const std::size_t at = place(t, sizeof(coe_word_table));
        settle(&t, t, at);
        Walker inner{packing, outputs, region, cursor, t, region + at, nullptr};  // the table is input only
        visit_table(*t, inner);
        cursor = inner.cursor;
    }
};

// ---- worker: offsets to pointers -------------------------------------------
struct Rebaser {
    std::byte *region;
    std::size_t size;
    bool ok = true;

    template <class P>
    std::byte *rebase_slot(P *&field, std::size_t need = 0) {
        std::uint64_t v = 0;
        std::memcpy(&v, &field, sizeof v);
        if (v == 0) {
            field = nullptr;
            return nullptr;
        }
        if (v - 1 > size || need > size - (v - 1)) {
            ok = false;
            field = nullptr;
            return nullptr;
        }
        std::byte *at = region + (v - 1);
        field = reinterpret_cast<P *>(at);
        return at;
    }
    template <class P, class S>
    void in(P *&field, S) {
        rebase_slot(field);
    }
    template <class P, class S>
    void out(P *&field, S) {
        rebase_slot(field);
    }
    void texts(const char *const *&field, const std::uint64_t *, std::uint32_t count) {
        std::byte *array = rebase_slot(field, std::size_t{count} * 8);
        if (array == nullptr) return;
        for (std::uint32_t i = 0; i < count; ++i) {
            const char *entry = nullptr;
            std::memcpy(&entry, array + std::size_t{i} * 8, sizeof entry);
            rebase_slot(entry);
            std::memcpy(array + std::size_t{i} * 8, &entry, sizeof entry);
        }
    }
    void table(const coe_word_table *&t) {
        std::byte *at = rebase_slot(t, sizeof(coe_word_table));
        if (at != nullptr) visit_table(*reinterpret_cast<coe_word_table *>(at), *this);
    }
};

}  // namespace

OpKind kind_of(std::string_view id) {
    if (id == COE_OP_FEATURIZE) return OpKind::featurize;
    if (id == COE_OP_SIMILARITY) return OpKind::similarity;
    if (id == COE_OP_CLUSTER) return OpKind::cluster;
    if (id == COE_OP_CONSENSUS) return OpKind::consensus;
    if (id == COE_OP_AGGREGATE) return OpKind::aggregate;
    if (id == COE_OP_EMBED_WORDS) return OpKind::embed_words;
    return OpKind::unknown;
}

std::size_t region_bytes(OpKind kind, const void *args) {
    if (kind == OpKind::unknown) return 0;
    return with_struct(kind, [&](auto *tag) {
        using A = std::remove_pointer_t<decltype(tag)>;
        Sizer s{align_up(args_offset + sizeof(A), alignment)};
        visit_args(*static_cast<const A *>(args), s, tag);
        return s.total == too_big ? std::size_t{0} : s.total;
    });
}

void pack(OpKind kind, const void *args, std::byte *region) {
    with_struct(kind, [&](auto *tag) {
        using A = std::remove_pointer_t<decltype(tag)>;
        std::memset(region, 0, message_bytes);
        std::memcpy(region + args_offset, args, sizeof(A));
        Walker w{true,   false, region, align_up(args_offset + sizeof(A), alignment), args, region + args_offset,
                 nullptr};
        visit_args(*static_cast<const A *>(args), w, tag);
        return 0;
    });
}

void unpack(OpKind kind, void *args, const std::byte *region, bool outputs) {
    with_struct(kind, [&](auto *tag) {
        using A = std::remove_pointer_t<decltype(tag)>;
        A saved;
        std::memcpy(&saved, args, sizeof(A));
        std::memcpy(args, region + args_offset, sizeof(A));
        Walker w{
            false,   outputs, const_cast<std::byte *>(region), align_up(args_offset + sizeof(A), alignment), &saved,
            nullptr, args};
        visit_args(static_cast<const A &>(saved), w, tag);
        return 0;
    });
}

bool rebase(OpKind kind, std::byte *region, std::size_t size) {
    if (kind == OpKind::unknown) return false;
    return with_struct(kind, [&](auto *tag) {
        using A = std::remove_pointer_t<decltype(tag)>;
        if (size < args_offset + sizeof(A)) return false;
        Rebaser r{region, size};
        visit_args(*reinterpret_cast<A *>(region + args_offset), r, tag);
        return r.ok;
    });
}

}  // namespace coe::detail::marshal
