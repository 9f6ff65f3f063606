// panel.hpp - a panel: one question, the responses of N experts.
//
// Two forms.  PanelView/ResponseView hold only views: the caller keeps the
// texts (and embedding floats) alive and unchanged until the analysis that
// reads them has returned (for analyze_async: until its handler has run).
// Panel/Response own their data, as read from JSON; view() gives the
// PanelView of an owned Panel, valid while the Panel is neither changed nor
// destroyed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace coe {

struct ResponseView {
    std::string_view expert;           // unique within the panel
    std::string_view content;          // UTF-8, usually markdown
    std::optional<double> confidence;  // the expert's own, in [0, 1]
    // Explicit lists; when absent, items are extracted from the content's
    // markdown (bullets, numbered lists, headings).
    std::optional<std::vector<std::string_view>> recommendations;
    std::optional<std::vector<std::string_view>> limitations;
    const float *embedding = nullptr;  // optional dense vector of embedding_size floats
    std::size_t embedding_size = 0;
};

struct PanelView {
    std::string_view id;
    std::string_view question;
    std::vector<ResponseView> responses;
};

struct Response {
    std::string expert;
    std::string content;
    std::optional<double> confidence;
    std::optional<std::vector<std::string>> recommendations;
    std::optional<std::vector<std::string>> limitations;
    std::vector<float> embedding;  // empty: none
};

struct Panel {
    std::string id;
    std::string question;
    std::vector<Response> responses;

    PanelView view() const;
};

// Checks what the JSON parser checks, for panels built in code: at least one
// response, well-formed UTF-8 in every text, unique non-empty expert names,
// confidence in [0, 1], embeddings
// either on every response with one length or on none, finite floats.
// Throws coe::Error naming the response index and field.
void validate(const PanelView &panel);

}  // namespace coe
