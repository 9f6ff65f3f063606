// fake_provider_server [--tls CERT KEY] [--port-file FILE]
// Serves the fake providers on 127.0.0.1 (see fake_provider_server.hpp),
// prints "port N", and runs until its standard input ends, SIGTERM/SIGINT,
// or 300 s have passed (so a forgotten server never lingers); then exits 0.
// The bare "auth" directive's key comes from the environment variable
// COE_FAKE_PROVIDER_KEY.  Exit 2: bad arguments; 1: could not start.
#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>

#include "fake_provider_server.hpp"

namespace {
volatile std::sig_atomic_t stop = 0;
extern "C" void on_signal(int) { stop = 1; }
}  // namespace

int main(int argc, char **argv) {
    coe::test::FakeProviderServer::Options options;
    std::string port_file;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--tls" && i + 2 < argc) {
            options.tls = true;
            options.cert_file = argv[++i];
            options.key_file = argv[++i];
        } else if (a == "--port-file" && i + 1 < argc) {
            port_file = argv[++i];
        } else {
            std::cerr << "usage: fake_provider_server [--tls CERT KEY] [--port-file FILE]\n";
            return 2;
        }
    }
    if (const char *key = std::getenv("COE_FAKE_PROVIDER_KEY")) options.api_key = key;
    std::signal(SIGTERM, on_signal);
    std::signal(SIGINT, on_signal);
    std::signal(SIGPIPE, SIG_IGN);
    std::unique_ptr<coe::test::FakeProviderServer> started;
    try {
        started = std::make_unique<coe::test::FakeProviderServer>(options);
    } catch (const std::exception &e) {
        std::cerr << "fake_provider_server: " << e.what() << "\n";
        return 1;
    }
    const coe::test::FakeProviderServer &server = *started;
    std::cout << "port " << server.port() << std::endl;
    if (!port_file.empty()) {
        const std::string tmp = port_file + ".tmp";
        std::ofstream(tmp) << server.port() << "\n";
        std::rename(tmp.c_str(), port_file.c_str());
    }
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(300);
    while (!stop && std::chrono::steady_clock::now() < until) {
        pollfd in{0, POLLIN, 0};
        if (::poll(&in, 1, 200) > 0) {
            char buf[256];
            if (::read(0, buf, sizeof buf) <= 0) break;  // end of input
        }
    }
    return 0;
}
