#include <cstdio>
#include <sstream>

#include "coe/report_format.hpp"

namespace coe {
namespace {

std::string fixed(double x, int digits = 2) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", digits, x);
    return buf;
}

std::string join(const std::vector<std::string> &v, std::size_t limit = 8) {
    std::string s;
    for (std::size_t i = 0; i < v.size() && i < limit; ++i) s += (i ? ", " : "") + v[i];
    if (v.size() > limit) s += ", ... (" + std::to_string(v.size() - limit) + " more)";
    return s;
}

void print_items(std::ostringstream &out, const char *title, const std::vector<ItemResult> &items, std::size_t experts,
                 std::size_t limit) {
    if (items.empty()) return;
    out << title << "\n";
    std::size_t shown = 0;
    for (const auto &it : items) {
        if (shown == limit) {
            out << "  ... " << items.size() - limit << " more\n";
            break;
        }
        out << "  " << ++shown << ". " << it.text << "\n     " << it.support << "/" << experts << " experts"
            << (it.consensus ? ", consensus" : "") << ", score " << fixed(it.score) << "\n";
    }
}

}  // namespace

std::string to_text(const Report &r) {
    std::ostringstream out;
    const std::size_t n = r.experts.size();
    out << "Panel " << (r.panel_id.empty() ? "(no id)" : r.panel_id);
    if (!r.question.empty()) out << ": " << r.question.substr(0, 160) << (r.question.size() > 160 ? "..." : "");
    out << "\n" << n << " experts, backend " << r.backend << ", " << r.features << " similarity\n";
    if (!r.features_note.empty()) out << "  (" << r.features_note << ")\n";
    if (r.degraded) {
        out << "DEGRADED: served by";
        for (const auto &[op, backend] : r.served_by) out << " " << op << "=" << backend;
        out << "\n";
        for (const auto &e : r.events) out << "  " << e << "\n";
    }
    out << "\n";
    const auto &c = r.consensus;
    out << "Consensus: " << to_string(c.level) << " (agreement " << fixed(c.score) << ", majority "
        << fixed(100 * c.majority_share, 0) << "% of weight, margin " << fixed(c.margin) << ", entropy "
        << fixed(c.entropy) << ")\n";
    out << "Confidence: " << fixed(r.confidence) << "\n";
    out << "Most central expert: " << c.medoid << "\n\n";
    out << "Clusters:\n";
    for (std::size_t k = 0; k < r.clusters.size(); ++k) {
        const auto &cl = r.clusters[k];
        out << "  #" << k << (k == c.majority_cluster ? " (majority)" : "") << ": " << cl.members.size()
            << " experts, share " << fixed(cl.share) << ", cohesion " << fixed(cl.cohesion) << ", representative "
            << cl.representative << "\n     " << join(cl.members) << "\n";
    }
    if (!r.dissent.empty()) {
        out << "\nDissent:\n";
        for (const auto &d : r.dissent)
            out << "  " << join(d.members, 4) << " (cluster #" << d.cluster << "): \"" << d.excerpt << "\"\n";
    }
    std::vector<std::string> outliers;
    for (const auto &e : r.experts)
        if (e.outlier) outliers.push_back(e.expert + " (z " + fixed(e.robust_z, 1) + ")");
    if (!outliers.empty()) out << "\nOutliers: " << join(outliers, 20) << "\n";
    out << "\n";
    print_items(out, ("Recommendations (quorum " + std::to_string(r.quorum) + "):").c_str(), r.recommendations, n, 10);
    print_items(out, "Limitations:", r.limitations, n, 5);
    out << "\nTiming: " << fixed(r.timing.total, 3) << " ms (featurize " << fixed(r.timing.featurize, 3)
        << ", similarity " << fixed(r.timing.similarity, 3) << ", cluster " << fixed(r.timing.cluster, 3)
        << ", consensus " << fixed(r.timing.consensus, 3) << ", aggregate " << fixed(r.timing.aggregate, 3) << ")\n";
    // Names and excerpts come from the input: no control character (an escape
    // sequence that clears the screen, say) reaches a terminal.
    std::string text = out.str();
    for (char &ch : text)
        if ((static_cast<unsigned char>(ch) < 0x20 && ch != '\n' && ch != '\t') || ch == 0x7f) ch = '?';
    return text;
}

}  // namespace coe
