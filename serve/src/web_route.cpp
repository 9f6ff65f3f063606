// GET/HEAD of the web page's files (docs/web.md).  They hold no data, so
// they need no token; every API route still does.
#include "routes.hpp"
#include "web_assets.hpp"

namespace coe::serve {

const WebAsset *find_web_asset(std::string_view path) {
    if (path == "/index.html") path = "/";
    for (const WebAsset &a : web_assets())
        if (a.path == path) return &a;
    return nullptr;
}

namespace {

// No inline script or style, nothing from elsewhere.  The WebAssembly engine
// needs 'wasm-unsafe-eval' to compile its module, and connect-src data: to
// read it: /coe.mjs is one self-contained file that carries the module as a
// data: URL and fetches it from there.
constexpr const char *content_security_policy =
    "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

Headers security_headers() {
    return {{"Content-Security-Policy", content_security_policy},
            {"X-Content-Type-Options", "nosniff"},
            {"Referrer-Policy", "no-referrer"}};
}

bool etag_matches(std::string_view if_none_match, std::string_view etag) {
    if (if_none_match == "*") return true;
    std::size_t pos = 0;
    while (pos < if_none_match.size()) {
        std::size_t end = if_none_match.find(',', pos);
        if (end == std::string_view::npos) end = if_none_match.size();
        std::string_view t = if_none_match.substr(pos, end - pos);
        while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) t.remove_prefix(1);
        while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.remove_suffix(1);
        if (t.substr(0, 2) == "W/") t.remove_prefix(2);
        if (t == etag) return true;
        pos = end + 1;
    }
    return false;
}

}  // namespace

void handle_web_asset(ServeContext &, const std::shared_ptr<Exchange> &ex) {
    const std::string target(ex->request().target());
    const std::string path = target.substr(0, target.find('?'));
    const WebAsset *asset = find_web_asset(path);
    if (asset == nullptr && path == "/d3.min.js") {
        // A script that says why, rather than a 404 the browser reports as an
        // error: the page shows this where the chart would be.
        ex->respond(http::status::ok, "text/javascript; charset=utf-8",
                    "window.coeChartMissing = \"The chart library was not built into this server: install "
                    "libjs-d3 (or set -DCOE_D3_JS), then re-run cmake and rebuild.\";\n",
                    security_headers());
        return;
    }
    if (asset == nullptr) {
        respond_error(*ex, http::status::not_found, "not_found",
                      "the WebAssembly engine was not built into this server: run scripts/build-wasm.sh, then "
                      "re-run cmake and rebuild (it embeds build-wasm/coe.mjs, or the file named by "
                      "-DCOE_WASM_MODULE)",
                      {}, security_headers());
        return;
    }
    Headers headers = security_headers();
    headers.emplace_back("ETag", std::string(asset->etag));
    // Revalidate every time: the ETag makes that a 304 without a body.
    headers.emplace_back("Cache-Control", "no-cache");
    if (etag_matches(ex->request()[http::field::if_none_match], asset->etag)) {
        ex->respond(http::status::not_modified, std::string(asset->content_type), {}, std::move(headers));
        return;
    }
    ex->respond(http::status::ok, std::string(asset->content_type), std::string(asset->bytes), std::move(headers));
}

}  // namespace coe::serve
