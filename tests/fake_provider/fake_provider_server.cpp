// The fake provider server's network side: accept, read requests with
// Beast, play each response's plan (writes, waits, a reset) on the socket.
#include "fake_provider_server.hpp"

#include <cstdlib>
#include <thread>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "fake_responses.hpp"

namespace coe::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

class FakeProviderServer::Impl {
public:
    explicit Impl(Options o) : options(std::move(o)), acceptor(io), ssl(asio::ssl::context::tls_server) {
        if (options.tls) {
            ssl.use_certificate_chain_file(options.cert_file);
            ssl.use_private_key_file(options.key_file, asio::ssl::context::pem);
        }
        const tcp::endpoint at(asio::ip::make_address("127.0.0.1"), 0);
        acceptor.open(at.protocol());
        acceptor.set_option(tcp::acceptor::reuse_address(true));
        acceptor.bind(at);
        acceptor.listen();
        port = acceptor.local_endpoint().port();
        accept();
        thread = std::thread([this] { io.run(); });
    }
    ~Impl() {
        asio::post(io, [this] {
            boost::system::error_code ignored;
            acceptor.close(ignored);
            const auto open = std::move(closers);  // each close() removes its own entry
            closers.clear();
            for (auto &[id, close] : open) close();
            io.stop();
        });
        thread.join();
    }

    // network thread only
    void accept();
    std::uint64_t add_closer(std::function<void()> f) {
        closers[++next_closer] = std::move(f);
        return next_closer;
    }
    void remove_closer(std::uint64_t id) { closers.erase(id); }

    // Records a request; returns whether its model's faults still apply.
    bool record(RecordedRequest r, const std::string &model) {
        std::lock_guard<std::mutex> lock(mutex);
        const std::size_t n = ++per_model[model];
        requests.push_back(std::move(r));
        const long budget = fault_budget(model);
        return budget <= 0 || n <= static_cast<std::size_t>(budget);
    }

    Options options;
    asio::io_context io;
    tcp::acceptor acceptor;
    asio::ssl::context ssl;
    std::uint16_t port = 0;
    std::map<std::uint64_t, std::function<void()>> closers;
    std::uint64_t next_closer = 0;
    mutable std::mutex mutex;
    std::map<std::string, std::size_t> per_model;
    std::vector<RecordedRequest> requests;
    std::thread thread;
};

namespace {

template <class Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
public:
    template <class... Args>
    Session(FakeProviderServer::Impl &server, Args &&...args)
        : server_(server), stream_(std::forward<Args>(args)...), timer_(server.io) {}

    void start() {
        auto self = this->shared_from_this();
        closer_ = server_.add_closer([self] { self->close(); });
        if constexpr (std::is_same_v<Stream, beast::ssl_stream<beast::tcp_stream>>) {
            beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(10));
            stream_.async_handshake(asio::ssl::stream_base::server, [self](beast::error_code ec) {
                if (ec) return self->close();
                self->read();
            });
        } else {
            read();
        }
    }

    void close() {
        if (closed_) return;
        closed_ = true;
        timer_.cancel();
        beast::error_code ignored;
        beast::get_lowest_layer(stream_).socket().shutdown(tcp::socket::shutdown_both, ignored);
        beast::get_lowest_layer(stream_).socket().close(ignored);
        server_.remove_closer(closer_);
    }

private:
    void read() {
        if (closed_) return;
        parser_.emplace();
        parser_->body_limit(16u << 20);
        beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(30));  // idle keep-alive
        auto self = this->shared_from_this();
        http::async_read(stream_, buffer_, *parser_, [self](beast::error_code ec, std::size_t) {
            if (ec) return self->close();
            self->respond();
        });
    }

    void respond() {
        beast::get_lowest_layer(stream_).expires_never();
        const auto &req = parser_->get();
        ParsedRequest r;
        r.method = std::string(req.method_string());
        r.target = std::string(req.target());
        r.body = req.body();
        RecordedRequest rec{r.method, r.target, {}, r.body};
        for (const auto &f : req) {
            std::string name(f.name_string());
            for (char &c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            r.headers[name] = std::string(f.value());
            rec.headers.emplace_back(name, std::string(f.value()));
        }
        keep_alive_ = req.keep_alive();
        const std::string model = model_of(r);
        const bool faults = server_.record(std::move(rec), model);
        steps_ = plan_response(r, model, faults, server_.options.api_key);
        next_ = 0;
        step();
    }

    void step() {
        if (closed_) return;
        if (next_ == steps_.size()) {
            if (keep_alive_) return read();
            return close();
        }
        const Step &s = steps_[next_++];
        auto self = this->shared_from_this();
        switch (s.kind) {
        case Step::wait:
            timer_.expires_after(std::chrono::milliseconds(s.ms));
            timer_.async_wait([self](beast::error_code ec) {
                if (!ec) self->step();
            });
            return;
        case Step::reset: {
            beast::error_code ignored;
            auto &socket = beast::get_lowest_layer(stream_).socket();
            socket.set_option(asio::socket_base::linger(true, 0), ignored);  // RST, not FIN
            return close();
        }
        case Step::write:
            asio::async_write(stream_, asio::buffer(s.bytes), [self](beast::error_code ec, std::size_t) {
                if (ec) return self->close();
                self->step();
            });
            return;
        }
    }

    FakeProviderServer::Impl &server_;
    Stream stream_;
    asio::steady_timer timer_;
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    std::vector<Step> steps_;
    std::size_t next_ = 0;
    bool keep_alive_ = true, closed_ = false;
    std::uint64_t closer_ = 0;
};

}  // namespace

void FakeProviderServer::Impl::accept() {
    acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
        if (ec) return;  // closed
        socket.set_option(tcp::no_delay(true));
        if (options.tls)
            std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(*this, std::move(socket), ssl)->start();
        else
            std::make_shared<Session<beast::tcp_stream>>(*this, std::move(socket))->start();
        accept();
    });
}

FakeProviderServer::FakeProviderServer() : FakeProviderServer(Options{}) {}
FakeProviderServer::FakeProviderServer(Options options) : impl_(std::make_unique<Impl>(std::move(options))) {}
FakeProviderServer::~FakeProviderServer() = default;

std::uint16_t FakeProviderServer::port() const { return impl_->port; }

std::string FakeProviderServer::base_url() const {
    return std::string(impl_->options.tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(impl_->port);
}

std::size_t FakeProviderServer::request_count(const std::string &model) const {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    auto it = impl_->per_model.find(model);
    return it == impl_->per_model.end() ? 0 : it->second;
}

std::size_t FakeProviderServer::request_count() const {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    return impl_->requests.size();
}

std::vector<RecordedRequest> FakeProviderServer::requests() const {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    return impl_->requests;
}

bool make_self_signed_certificate(const std::string &dir) {
    const std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 "
                            "-addext subjectAltName=IP:127.0.0.1,DNS:localhost -keyout '" + dir + "/key.pem' -out '" +
                            dir + "/cert.pem' >/dev/null 2>&1";
    return std::system(cmd.c_str()) == 0;
}

}  // namespace coe::test
