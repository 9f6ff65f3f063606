// reuse.hpp - filling containers again without giving their storage back, so
// that a result rebuilt from panel to panel allocates nothing once it has
// seen its largest panel.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "coe/report.hpp"

namespace coe::detail {

// How a result is filled: `fresh`, built for this panel alone (containers
// and strings sized to fit, no spare lists: a caller may keep many such
// results), or `reused`, rewritten panel after panel (spare lists, strings
// given room for the longest text usual in their role).
enum class Fill { fresh, reused };

// The spare lists: one per role of an element (the experts of reports, the
// names in their member lists, ...), so that an element keeps to one role
// and the storage it grew there fits the next use.
enum class Spare { experts, clusters, dissent, recommendations, limitations, names, item_texts, count };

template <class T>
std::vector<T> &spare_list(Spare role) {
    thread_local std::vector<T> lists[static_cast<std::size_t>(Spare::count)];
    return lists[static_cast<std::size_t>(role)];
}

// Resizes `v` to `n` elements.  Elements it drops are moved (with their
// strings' and vectors' storage) to this thread's spare list for `role`,
// their own strings given back to the spare lists of theirs; elements it adds
// come from there first, last dropped first.  Every element kept or added
// keeps its old contents, so the caller rewrites each one.
template <class T>
void resize_reusing(std::vector<T> &v, std::size_t n, Spare role, Fill fill = Fill::reused);

// What an element dropped by resize_reusing gives back to other spare lists
// (so that a spare list holds every string of its role not in use).
template <class T>
void give_back_contents(T &) {}
inline void give_back_contents(ClusterResult &c) { resize_reusing(c.members, 0, Spare::names); }
inline void give_back_contents(DissentResult &d) { resize_reusing(d.members, 0, Spare::names); }
inline void give_back_contents(ItemResult &r) {
    resize_reusing(r.supporters, 0, Spare::names);
    resize_reusing(r.variants, 0, Spare::item_texts);
}

template <class T>
void resize_reusing(std::vector<T> &v, std::size_t n, Spare role, Fill fill) {
    if (fill == Fill::fresh) {
        v.resize(n);
        return;
    }
    std::vector<T> &spare = spare_list<T>(role);
    while (v.size() > n) {
        give_back_contents(v.back());
        spare.push_back(std::move(v.back()));
        v.pop_back();
    }
    while (v.size() < n) {
        if (spare.empty()) {
            v.emplace_back();
        } else {
            v.push_back(std::move(spare.back()));
            spare.pop_back();
        }
    }
}

// Sets `s` to `t`; when reused, first giving it room for at least `reserve`
// bytes (the longest text usual in its role): strings move between the
// elements of a role, and this way each grows once, on its first use, not
// whenever it meets a longer text than it held before.
inline void assign_text(std::string &s, std::string_view t, Fill fill, std::size_t reserve = 64) {
    if (fill == Fill::reused && (s.capacity() < reserve || s.capacity() < t.size()))
        s.reserve(t.size() > reserve ? t.size() : reserve);
    s.assign(t.data(), t.size());
}

// Sets `out` to text(0) .. text(count - 1).  When reused: its strings are
// reused (spare ones from `role`; each grows to at least `reserve` bytes,
// see assign_text), and the vector grows to at least `reserve_count`.
template <class Text>
void assign_texts(std::vector<std::string> &out, std::size_t count, Text &&text, Spare role, Fill fill,
                  std::size_t reserve = 64, std::size_t reserve_count = 0) {
    if (fill == Fill::reused && out.capacity() < count) out.reserve(count > reserve_count ? count : reserve_count);
    resize_reusing(out, count, role, fill);
    for (std::size_t i = 0; i < count; ++i) assign_text(out[i], text(i), fill, reserve);
}

}  // namespace coe::detail
