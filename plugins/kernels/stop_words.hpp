// stop_words.hpp - the English stop-word list used by coe.featurize, kept as
// a sorted table of 64-bit FNV-1a hashes built at compile time (no static
// initialiser runs when a plugin is loaded).
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <string_view>

#include "kernel_namespace.hpp"

COE_KERNELS_BEGIN

constexpr std::uint64_t fnv1a_offset = 0xcbf29ce484222325ull;
constexpr std::uint64_t fnv1a_prime = 0x100000001b3ull;

constexpr std::uint64_t fnv1a(std::string_view s) {
    std::uint64_t h = fnv1a_offset;
    for (char c : s) {
        h ^= static_cast<unsigned char>(c);
        h *= fnv1a_prime;
    }
    return h;
}

// Words of two or more letters only: shorter tokens never reach the list.
constexpr std::string_view stop_word_list[] = {
    "about", "above", "after", "again", "against", "all", "am", "an", "and", "any", "are",
    "as", "at", "be", "because", "been", "before", "being", "below", "between", "both",
    "but", "by", "can", "could", "did", "do", "does", "doing", "down", "during", "each",
    "few", "for", "from", "further", "had", "has", "have", "having", "he", "her", "here",
    "hers", "herself", "him", "himself", "his", "how", "if", "in", "into", "is", "it",
    "its", "itself", "just", "me", "more", "most", "my", "myself", "no", "nor", "not",
    "now", "of", "off", "on", "once", "only", "or", "other", "our", "ours", "ourselves",
    "out", "over", "own", "same", "she", "should", "so", "some", "such", "than", "that",
    "the", "their", "theirs", "them", "themselves", "then", "there", "these", "they",
    "this", "those", "through", "to", "too", "under", "until", "up", "very", "was", "we",
    "were", "what", "when", "where", "which", "while", "who", "whom", "why", "will",
    "with", "would", "you", "your", "yours", "yourself", "yourselves"};

constexpr std::size_t stop_word_count = sizeof(stop_word_list) / sizeof(stop_word_list[0]);

constexpr std::array<std::uint64_t, stop_word_count> sorted_stop_word_hashes() {
    std::array<std::uint64_t, stop_word_count> h{};
    for (std::size_t i = 0; i < stop_word_count; ++i) h[i] = fnv1a(stop_word_list[i]);
    // insertion sort: constexpr-friendly in C++17
    for (std::size_t i = 1; i < stop_word_count; ++i)
        for (std::size_t j = i; j > 0 && h[j - 1] > h[j]; --j) {
            std::uint64_t t = h[j];
            h[j] = h[j - 1];
            h[j - 1] = t;
        }
    return h;
}

constexpr std::array<std::uint64_t, stop_word_count> stop_word_hashes = sorted_stop_word_hashes();

inline bool is_stop_word_hash(std::uint64_t h) {
    return std::binary_search(stop_word_hashes.begin(), stop_word_hashes.end(), h);
}

COE_KERNELS_END
