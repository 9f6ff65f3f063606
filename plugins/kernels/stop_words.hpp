// stop_words.hpp - the English stop-word list used by coe.featurize, kept as
// open-addressed tables of token hashes (one per featurize revision) built at
// compile time: no static initialiser runs when a plugin is loaded, and a
// lookup is one or two loads.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "kernel_namespace.hpp"
#include "token_hash.hpp"

COE_KERNELS_BEGIN

// Words of two or more letters only: shorter tokens never reach the list.
constexpr std::string_view stop_word_list[] = {
    "about",  "above",      "after",    "again",     "against", "all",       "am",      "an",    "and",     "any",
    "are",    "as",         "at",       "be",        "because", "been",      "before",  "being", "below",   "between",
    "both",   "but",        "by",       "can",       "could",   "did",       "do",      "does",  "doing",   "down",
    "during", "each",       "few",      "for",       "from",    "further",   "had",     "has",   "have",    "having",
    "he",     "her",        "here",     "hers",      "herself", "him",       "himself", "his",   "how",     "if",
    "in",     "into",       "is",       "it",        "its",     "itself",    "just",    "me",    "more",    "most",
    "my",     "myself",     "no",       "nor",       "not",     "now",       "of",      "off",   "on",      "once",
    "only",   "or",         "other",    "our",       "ours",    "ourselves", "out",     "over",  "own",     "same",
    "she",    "should",     "so",       "some",      "such",    "than",      "that",    "the",   "their",   "theirs",
    "them",   "themselves", "then",     "there",     "these",   "they",      "this",    "those", "through", "to",
    "too",    "under",      "until",    "up",        "very",    "was",       "we",      "were",  "what",    "when",
    "where",  "which",      "while",    "who",       "whom",    "why",       "will",    "with",  "would",   "you",
    "your",   "yours",      "yourself", "yourselves"};

// Tokens longer than this are never stop words (no hash lookup needed).
constexpr std::size_t stop_word_max_length = 10;

// 2048 slots indexed by the top eleven bits of h * 0x9E3779B97F4A7C15; a word sits in its slot or
// the next one (checked below), so a lookup is two compares and no loop.
// 0 marks a free slot (no list word hashes to 0 in either revision).
// `Words`: std::uint64_t or a GCC vector of them.
template <class Words>
constexpr Words stop_word_slot(Words h) {
    return (h * 0x9E3779B97F4A7C15ull) >> 53;
}

struct StopWordTable {
    std::array<std::uint64_t, 2049> slots{};  // the last slot takes the overflow of slot 2047

    constexpr bool contains(std::uint64_t h) const {
        const auto i = static_cast<std::size_t>(stop_word_slot(h));  // < 2048
        return (slots[i] == h) | (slots[i + 1] == h);  // no branch: a stop word or not is a coin toss in text
    }
};

template <class Hash>
constexpr StopWordTable make_stop_word_table(Hash hash) {
    StopWordTable t{};
    for (std::string_view w : stop_word_list) {
        const std::uint64_t h = hash(w);
        auto i = static_cast<std::size_t>(stop_word_slot(h));
        if (t.slots[i] != 0) ++i;  // a third word in a place fails the check below
        if (t.slots[i] == 0) t.slots[i] = h;
    }
    return t;
}

constexpr StopWordTable stop_words_fnv1a = make_stop_word_table([](std::string_view w) { return fnv1a(w); });
constexpr StopWordTable stop_words_block_hash = make_stop_word_table([](std::string_view w) { return block_hash(w); });

constexpr bool stop_word_tables_hold_every_word() {
    for (std::string_view w : stop_word_list) {
        if (w.size() > stop_word_max_length || fnv1a(w) == 0 || block_hash(w) == 0) return false;
        if (!stop_words_fnv1a.contains(fnv1a(w)) || !stop_words_block_hash.contains(block_hash(w))) return false;
    }
    return true;
}
static_assert(stop_word_tables_hold_every_word());

COE_KERNELS_END
