// `coe serve [--listen HOST:PORT] [--experts FILE] [--threads N]
//            [--token-file FILE | --token-env VAR] [--max-body-mb N]
//            [--max-output-mb N] [--max-per-client N] [--idle-timeout D]
//            [--request-timeout D] [--drain-timeout D] [--quorum K]
//            [--deadline D] [--model NAME] [--review] [--synthesize CHAIRMAN]`
//
// Serves the circle over HTTP until SIGINT or SIGTERM, then drains and exits
// 0.  Prints "coe serve: listening on http://HOST:PORT" on stderr once
// ready (with --listen HOST:0, the port the system chose).
#include <cstdlib>
#include <fstream>
#include <iostream>

#include "consult_cli.hpp"
#include "coe/server.hpp"

namespace coe::cli {
namespace {

std::vector<std::string> tokens_from_file(const std::string &file) {
    std::ifstream in(file);
    if (!in) throw Error("--token-file " + file + ": cannot open file");
    std::vector<std::string> tokens;
    std::string line;
    for (std::size_t n = 1; std::getline(in, line); ++n) {
        while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
        const auto start = line.find_first_not_of(" \t");
        if (start == std::string::npos || line[start] == '#') continue;
        line.erase(0, start);
        if (line.size() < 16)
            throw Error("--token-file " + file + ":" + std::to_string(n) +
                        ": a token must have at least 16 characters");
        tokens.push_back(line);
    }
    if (tokens.empty()) throw Error("--token-file " + file + ": no tokens in the file");
    return tokens;
}

std::vector<std::string> tokens_from_env(const std::string &var) {
    const char *v = std::getenv(var.c_str());
    if (v == nullptr || *v == '\0') throw Error("--token-env " + var + ": the variable is not set");
    std::vector<std::string> tokens;
    std::string all(v);
    for (std::size_t start = 0; start <= all.size();) {  // comma-separated
        const std::size_t end = std::min(all.find(',', start), all.size());
        if (end > start) tokens.push_back(all.substr(start, end - start));
        start = end + 1;
    }
    for (const auto &t : tokens)
        if (t.size() < 16) throw Error("--token-env " + var + ": a token must have at least 16 characters");
    return tokens;
}

}  // namespace

int run_serve_command(const CommandLine &cl) {
    ServerOptions o;
    std::string experts_file;
    for (ArgCursor arg(cl.args); arg.next();) {
        const std::string &x = arg.current();
        if (x == "--listen") {
            const std::string &v = arg.value();
            const auto colon = v.rfind(':');
            if (colon == std::string::npos || colon == 0)
                throw UsageError("--listen expects HOST:PORT, got '" + v + "'");
            o.address = v.substr(0, colon);
            if (o.address.size() > 2 && o.address.front() == '[' && o.address.back() == ']')
                o.address = o.address.substr(1, o.address.size() - 2);
            o.port = static_cast<std::uint16_t>(parse_count("--listen port", v.substr(colon + 1), 0, 65535));
        } else if (x == "--experts") {
            experts_file = arg.value();
        } else if (x == "--threads") {
            o.threads = static_cast<unsigned>(parse_count(x, arg.value(), 1, 1024));
        } else if (x == "--token-file") {
            o.tokens = tokens_from_file(arg.value());
        } else if (x == "--token-env") {
            o.tokens = tokens_from_env(arg.value());
        } else if (x == "--max-body-mb") {
            o.max_body_bytes = static_cast<std::size_t>(parse_number(x, arg.value(), 0.001, 4096) * (1 << 20));
        } else if (x == "--max-output-mb") {  // output waiting for one client; a slower reader is disconnected
            o.max_output_bytes = static_cast<std::size_t>(parse_number(x, arg.value(), 0.001, 4096) * (1 << 20));
        } else if (x == "--max-per-client") {
            o.max_requests_per_client = static_cast<unsigned>(parse_count(x, arg.value(), 1, 100000));
        } else if (x == "--idle-timeout") {
            o.idle_timeout = parse_duration(x, arg.value());
        } else if (x == "--request-timeout") {
            o.request_timeout = parse_duration(x, arg.value());
        } else if (x == "--drain-timeout") {
            o.drain_timeout = parse_duration(x, arg.value());
        } else if (x == "--quorum") {
            o.consult.quorum = static_cast<std::uint32_t>(parse_count(x, arg.value(), 1, 100000));
        } else if (x == "--deadline") {
            o.consult.deadline = parse_duration(x, arg.value());
        } else if (x == "--review") {
            o.consult.review = true;
        } else if (x == "--synthesize") {
            o.consult.synthesize = arg.value();
        } else if (x == "--model") {
            o.model = arg.value();
        } else {
            throw UsageError("unknown argument '" + x + "'");
        }
    }
    o.stop_on_signals = true;

    Engine engine(cl.engine);
    std::optional<ExpertsConfig> experts = find_experts(experts_file, cl);
    std::unique_ptr<Circle> circle;
    if (experts) circle = std::make_unique<Circle>(engine, std::move(*experts));
    Server server(engine, circle.get(), o);
    std::cerr << "coe serve: listening on http://"
              << (o.address.find(':') != std::string::npos ? "[" + o.address + "]" : o.address) << ":" << server.port()
              << " ("
              << (circle ? std::to_string(circle->experts().experts.size()) + " experts"
                         : std::string("no experts: consultation routes answer 503"))
              << ", " << (o.tokens.empty() ? "no authentication" : std::to_string(o.tokens.size()) + " bearer tokens")
              << ")" << std::endl;
    if (o.tokens.empty() && o.address != "127.0.0.1" && o.address != "::1" && o.address != "localhost")
        std::cerr << "coe serve: warning: listening beyond this machine without authentication "
                     "(--token-file or --token-env)"
                  << std::endl;
    server.run();
    std::cerr << "coe serve: stopped" << std::endl;
    return 0;
}

}  // namespace coe::cli
