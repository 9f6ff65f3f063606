// The fake provider server's network side: accept, read requests with
// Beast, play each response's plan (writes, waits, a reset) on the socket.
#include "fake_provider_server.hpp"

#include <array>
#include <cctype>
#include <cstdlib>
#include <map>
#include <mutex>
#include <optional>
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

namespace {

constexpr std::uint64_t max_body = 16u << 20;
constexpr auto idle_timeout = std::chrono::seconds(30);

struct Connection {
    virtual ~Connection() = default;
    virtual void close() = 0;  // on the connection's strand, or once no thread runs
};

}  // namespace

class FakeProviderServer::Impl {
public:
    explicit Impl(Options o) : options(std::move(o)), ssl(asio::ssl::context::tls_server), acceptor(io) {
        if (options.tls) {
            ssl.use_certificate_chain_file(options.cert_file);
            ssl.use_private_key_file(options.key_file, asio::ssl::context::pem);
        }
        const tcp::endpoint at(asio::ip::make_address("127.0.0.1"), 0);
        acceptor.open(at.protocol());
        acceptor.bind(at);
        acceptor.listen();
        port = acceptor.local_endpoint().port();
        accept();
        for (unsigned i = 0; i < std::max(1u, options.threads); ++i) threads.emplace_back([this] { io.run(); });
    }

    ~Impl() {
        io.stop();  // no handler runs after the joins
        for (auto &t : threads) t.join();
        boost::system::error_code ignored;
        acceptor.close(ignored);
        std::map<std::uint64_t, std::weak_ptr<Connection>> still_open;
        {
            std::lock_guard<std::mutex> lock(mutex);
            still_open = open;
        }
        for (auto &[id, weak] : still_open)
            if (auto c = weak.lock()) c->close();
        // the io_context, destroyed next, frees the handlers and with them the connections
    }

    void accept();

    std::uint64_t track(std::weak_ptr<Connection> c) {
        std::lock_guard<std::mutex> lock(mutex);
        open[++next_id] = std::move(c);
        return next_id;
    }
    void forget(std::uint64_t id) {
        std::lock_guard<std::mutex> lock(mutex);
        open.erase(id);
    }
    // Records a request; returns its 1-based number among those with its model string.
    std::size_t record(RecordedRequest r, const std::string &model) {
        std::lock_guard<std::mutex> lock(mutex);
        requests.push_back(std::move(r));
        return ++per_model[model];
    }

    const Options options;
    std::uint16_t port = 0;
    mutable std::mutex mutex;  // guards the three below
    std::map<std::string, std::size_t> per_model;
    std::vector<RecordedRequest> requests;
    std::map<std::uint64_t, std::weak_ptr<Connection>> open;
    std::uint64_t next_id = 0;
    // declared so that the io_context (and the connections its handlers own)
    // goes after the acceptor and before the TLS context
    asio::ssl::context ssl;
    asio::io_context io;
    tcp::acceptor acceptor;
    std::vector<std::thread> threads;
};

namespace {

template <class Stream>
class Session final : public Connection, public std::enable_shared_from_this<Session<Stream>> {
public:
    template <class... Args>
    explicit Session(FakeProviderServer::Impl &server, Args &&...args)
        : server_(server), stream_(std::forward<Args>(args)...), timer_(lowest().get_executor()) {}

    void start() {  // on the strand
        id_ = server_.track(this->weak_from_this());
        if constexpr (std::is_same_v<Stream, beast::ssl_stream<beast::tcp_stream>>) {
            lowest().expires_after(std::chrono::seconds(10));
            stream_.async_handshake(asio::ssl::stream_base::server,
                                    [self = this->shared_from_this()](beast::error_code ec) {
                                        if (ec) return self->close();
                                        self->read();
                                    });
        } else {
            read();
        }
    }

    void close() override {
        if (closed_) return;
        closed_ = true;
        timer_.cancel();
        beast::error_code ignored;
        lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
        lowest().socket().close(ignored);
        server_.forget(id_);
    }

private:
    beast::tcp_stream &lowest() { return beast::get_lowest_layer(stream_); }

    void read() {
        if (closed_) return;
        parser_.emplace();
        parser_->body_limit(max_body);
        lowest().expires_after(idle_timeout);
        http::async_read_header(stream_, buffer_, *parser_,
                                [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                                    if (ec) return self->read_failed(ec);
                                    self->read_body();
                                });
    }

    void read_failed(beast::error_code ec) {
        if (ec != http::error::body_limit) return close();
        // Answer 413, then read and drop what the client still sends (for
        // at most 5 s), so that it gets to read the answer.
        keep_alive_ = false;
        draining_ = true;
        play(plain_error(413, "the request body is over 16 MB"));
    }

    void drain() {
        if (closed_) return;
        stream_.async_read_some(asio::buffer(scratch_),
                                [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                                    if (ec) return self->close();
                                    self->drain();
                                });
    }

    void read_body() {
        static const std::string go_on = "HTTP/1.1 100 Continue\r\n\r\n";
        auto self = this->shared_from_this();
        auto body = [self] {
            self->lowest().expires_after(idle_timeout);
            http::async_read(self->stream_, self->buffer_, *self->parser_, [self](beast::error_code ec, std::size_t) {
                if (ec) return self->read_failed(ec);
                self->respond();
            });
        };
        if (!beast::iequals(parser_->get()[http::field::expect], "100-continue")) return body();
        asio::async_write(stream_, asio::buffer(go_on), [self, body](beast::error_code ec, std::size_t) {
            if (ec) return self->close();
            body();
        });
    }

    void respond() {
        lowest().expires_never();
        const auto &req = parser_->get();
        ParsedRequest r{std::string(req.method_string()), std::string(req.target()), req.body(), {}};
        RecordedRequest rec{r.method, r.target, {}, r.body};
        for (const auto &f : req) {
            std::string name(f.name_string());
            for (char &c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            r.headers[name] = std::string(f.value());
            rec.headers.emplace_back(std::move(name), std::string(f.value()));
        }
        keep_alive_ = req.keep_alive();
        try {
            const std::string model = model_of(r);
            const std::size_t nth = server_.record(std::move(rec), model);
            play(plan_response(r, model, nth, server_.options.api_key));
        } catch (const std::exception &e) {
            keep_alive_ = false;
            play(plain_error(500, std::string("fake provider: ") + e.what()));
        }
    }

    void play(std::vector<Step> steps) {
        steps_ = std::move(steps);
        next_ = 0;
        step();
    }

    void step() {
        if (closed_) return;
        if (next_ == steps_.size() && draining_) {
            lowest().expires_after(std::chrono::seconds(5));
            return drain();
        }
        if (next_ == steps_.size()) return keep_alive_ ? read() : close();
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
            lowest().socket().set_option(asio::socket_base::linger(true, 0), ignored);  // RST, not FIN
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
    bool keep_alive_ = true, closed_ = false, draining_ = false;
    std::array<char, 65536> scratch_{};
    std::uint64_t id_ = 0;
};

}  // namespace

void FakeProviderServer::Impl::accept() {
    acceptor.async_accept(asio::make_strand(io), [this](beast::error_code ec, tcp::socket socket) {
        if (ec == asio::error::operation_aborted) return;  // closed
        if (!ec) {
            beast::error_code ignored;
            socket.set_option(tcp::no_delay(true), ignored);
            const auto strand = socket.get_executor();  // the connection's own
            if (options.tls) {
                auto s = std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(*this, std::move(socket), ssl);
                asio::post(strand, [s] { s->start(); });
            } else {
                auto s = std::make_shared<Session<beast::tcp_stream>>(*this, std::move(socket));
                asio::post(strand, [s] { s->start(); });
            }
        }
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
    const auto it = impl_->per_model.find(model);
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
    if (dir.find('\'') != std::string::npos) return false;
    const std::string cmd =
        "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1"
        " -addext subjectAltName=IP:127.0.0.1,DNS:localhost -keyout '" +
        dir + "/key.pem' -out '" + dir + "/cert.pem' >/dev/null 2>&1 </dev/null";
    return std::system(cmd.c_str()) == 0;
}

}  // namespace coe::test
