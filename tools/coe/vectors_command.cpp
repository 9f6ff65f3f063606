// `coe vectors import FILE.json --output OUT` and `coe vectors info [FILE]`:
// converting word vectors into the word-vector file, and checking one (or
// the one the engine would use) as the engine does before use.  No network.
#include <chrono>
#include <cstdio>
#include <iostream>

#include "cli_options.hpp"
#include "coe/word_vectors.hpp"

namespace coe::cli {
namespace {

const char *usage = "usage: coe vectors import FILE.json --output OUT | coe vectors info [FILE]";

std::string mib(std::uint64_t bytes) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%llu bytes (%.1f MiB)", static_cast<unsigned long long>(bytes),
                  static_cast<double>(bytes) / (1024.0 * 1024.0));
    return buf;
}

std::string fixed(double v, int decimals) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    return buf;
}

int run_import(const std::vector<std::string> &args) {
    std::string input, output;
    for (ArgCursor arg(args); arg.next();) {
        const std::string &a = arg.current();
        if (a == "--output") output = arg.value();
        else if (!a.empty() && a[0] == '-') throw UsageError("unknown option '" + a + "'\n" + usage);
        else if (input.empty()) input = a;
        else throw UsageError("one input file only\n" + std::string(usage));
    }
    if (input.empty() || output.empty()) throw UsageError(usage);
    const auto start = std::chrono::steady_clock::now();
    const WordVectorsImport s = import_word_vectors(input, output);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    char error[32];
    std::snprintf(error, sizeof error, "%.3g", s.max_rounding_error);
    std::cout << "imported " << input << " -> " << output << "\n"
              << "words read       " << s.words_read << "\n"
              << "words kept       " << s.words_kept << "\n"
              << "words dropped    " << s.words_dropped << " (no token can equal them)\n"
              << "dimensions       " << s.dims << "\n"
              << "bytes written    " << mib(s.bytes_written) << "\n"
              << "binary16 error   " << error << " at most (|half - source value|)\n"
              << "time             " << fixed(seconds, 2) << " s\n";
    return 0;
}

int run_info(const std::vector<std::string> &args) {
    if (args.size() > 1) throw UsageError(usage);
    std::string file = args.empty() ? std::string() : args[0];
    std::string source;
    if (file.empty()) {
        const std::vector<WordVectorsPlace> places = word_vectors_search_path();
        for (const auto &p : places)
            if (p.missing.empty()) {
                file = p.file;
                source = p.source;
                break;
            }
        if (file.empty()) {
            std::cerr << "coe vectors info: no word-vector file found; searched:\n";
            for (const auto &p : places)
                std::cerr << "  " << p.source << std::string(p.source.size() < 13 ? 13 - p.source.size() : 1, ' ')
                          << (p.file.empty() ? "" : p.file + ": ") << p.missing << "\n";
            std::cerr << "(scripts/fetch-word-vectors.sh fetches and converts the word vectors)\n";
            return 1;
        }
    }
    const WordVectorsInfo info = inspect_word_vectors(file);
    char checksum[32];
    std::snprintf(checksum, sizeof checksum, "%016llx", static_cast<unsigned long long>(info.checksum));
    std::cout << "file        " << info.file << (source.empty() ? "" : " (" + source + ")") << "\n"
              << "dimensions  " << info.dims << "\n"
              << "words       " << info.words << " (" << info.slots << " slots)\n"
              << "size        " << mib(info.bytes) << "\n"
              << "checksum    " << checksum << " (valid)\n"
              << "open        " << fixed(info.open_ms, 2) << " ms (mapped and validated, checksum included)\n";
    return 0;
}

}  // namespace

int run_vectors_command(const CommandLine &cl) {
    if (cl.args.empty()) throw UsageError(usage);
    const std::vector<std::string> rest(cl.args.begin() + 1, cl.args.end());
    if (cl.args[0] == "import") return run_import(rest);
    if (cl.args[0] == "info") return run_info(rest);
    throw UsageError("unknown subcommand '" + cl.args[0] + "'\n" + usage);
}

}  // namespace coe::cli
