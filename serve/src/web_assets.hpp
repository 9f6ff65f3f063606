// web_assets.hpp - the web page's files, compiled in by
// cmake/EmbedWebAssets.cmake (see docs/web.md).
#pragma once

#include <string_view>
#include <vector>

namespace coe::serve {

struct WebAsset {
    std::string_view path;          // the URL path, e.g. "/app.js"
    std::string_view content_type;  // with charset where it is text
    std::string_view etag;          // strong, quoted: a hash of the bytes
    std::string_view bytes;
};

// Every embedded file; the chart library and /coe.mjs only when they were
// present at configure time.
const std::vector<WebAsset> &web_assets();

// The asset served at `path`, or null.
const WebAsset *find_web_asset(std::string_view path);

}  // namespace coe::serve
