// serve_client.hpp - a small blocking HTTP/1.1 client (Beast) for the server
// tests: keep-alive, raw bytes, whole responses.
#pragma once

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <map>
#include <string>

namespace coe::test {

namespace http = boost::beast::http;

struct Reply {
    unsigned status = 0;
    std::map<std::string, std::string> headers;  // names lower-cased
    std::string body;
    bool keep_alive = false;
};

class HttpClient {
public:
    explicit HttpClient(std::uint16_t port) : socket_(ioc_) {
        socket_.connect({boost::asio::ip::make_address("127.0.0.1"), port});
    }

    Reply request(http::verb verb, const std::string &target, const std::string &body = {},
                  const std::map<std::string, std::string> &headers = {}) {
        http::request<http::string_body> req{verb, target, 11};
        req.set(http::field::host, "127.0.0.1");
        for (const auto &[k, v] : headers) req.set(k, v);
        if (!body.empty() || verb == http::verb::post) {
            if (req[http::field::content_type].empty()) req.set(http::field::content_type, "application/json");
            req.body() = body;
        }
        req.keep_alive(true);
        req.prepare_payload();
        http::write(socket_, req);
        return read();
    }
    Reply get(const std::string &target, const std::map<std::string, std::string> &headers = {}) {
        return request(http::verb::get, target, {}, headers);
    }
    Reply post(const std::string &target, const std::string &body,
               const std::map<std::string, std::string> &headers = {}) {
        return request(http::verb::post, target, body, headers);
    }

    // HEAD: the header only (its Content-Length says what GET would send).
    Reply head(const std::string &target, const std::map<std::string, std::string> &headers = {}) {
        http::request<http::empty_body> req{http::verb::head, target, 11};
        req.set(http::field::host, "127.0.0.1");
        for (const auto &[k, v] : headers) req.set(k, v);
        req.keep_alive(true);
        http::write(socket_, req);
        return read(/*head=*/true);
    }

    void send_raw(const std::string &bytes) { boost::asio::write(socket_, boost::asio::buffer(bytes)); }
    Reply read(bool head = false) {
        http::response_parser<http::string_body> parser;
        parser.body_limit(64u << 20);
        parser.skip(head);
        http::read(socket_, buffer_, parser);
        const auto &res = parser.get();
        Reply r;
        r.status = res.result_int();
        for (const auto &f : res) {
            std::string name(f.name_string());
            for (char &c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            r.headers[name] = std::string(f.value());
        }
        r.body = res.body();
        r.keep_alive = res.keep_alive();
        return r;
    }
    // True when the server has closed the connection (reads end).
    bool closed_by_server() {
        boost::system::error_code ec;
        char c;
        socket_.read_some(boost::asio::buffer(&c, 1), ec);
        return ec == boost::asio::error::eof || ec == boost::asio::error::connection_reset;
    }
    boost::asio::ip::tcp::socket &socket() { return socket_; }

private:
    boost::asio::io_context ioc_;
    boost::asio::ip::tcp::socket socket_;
    boost::beast::flat_buffer buffer_;
};

}  // namespace coe::test
