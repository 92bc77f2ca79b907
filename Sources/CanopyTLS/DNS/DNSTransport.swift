import Foundation
import NIOCore
import NIOPosix

/// UDP or TCP.
public enum DNSProtocol: String, Sendable, Hashable {
    case udp, tcp
}

/// Sends one DNS message to a server and returns the answer: over UDP (falling back to TCP when the
/// answer is truncated) or over TCP with the two-byte length prefix (RFC 1035 §4.2.2).
public struct DNSTransport: Sendable {
    /// The server's address (an IP address or a name).
    public var host: String
    /// The server's port.
    public var port: Int
    /// Which protocol to use.
    public var transport: DNSProtocol
    /// How long to wait for an answer.
    public var timeout: TimeAmount
    let group: any EventLoopGroup

    /// Creates a transport.
    public init(
        host: String, port: Int, transport: DNSProtocol = .tcp, timeout: TimeAmount = .seconds(5),
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        self.host = host
        self.port = port
        self.transport = transport
        self.timeout = timeout
        self.group = group
    }

    /// `host:port` for messages.
    public var serverDescription: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// Sends `query` and returns the raw answer whose id matches.
    public func exchange(_ query: [UInt8]) async throws -> [UInt8] {
        if transport == .udp {
            let answer = try await exchangeUDP(query)
            if answer.count > 2, answer[2] & 0x02 != 0 { return try await exchangeTCP(query) }
            return answer
        }
        return try await exchangeTCP(query)
    }

    func exchangeTCP(_ query: [UInt8]) async throws -> [UInt8] {
        let promise = group.next().makePromise(of: [UInt8].self)
        let timeout = self.timeout
        let bootstrap = ClientBootstrap(group: group)
            .connectTimeout(timeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        DNSTCPExchangeHandler(query: query, promise: promise, timeout: timeout))
                }
            }
        do {
            let channel = try await bootstrap.connect(host: host, port: port).get()
            defer { channel.close(promise: nil) }
            return try await promise.futureResult.get()
        } catch let error as DNSError {
            throw error
        } catch {
            promise.fail(error)
            if case ChannelError.connectTimeout = error {
                throw DNSError.timeout(server: serverDescription, seconds: Double(timeout.nanoseconds) / 1e9)
            }
            throw DNSError.connection(server: serverDescription, reason: String(describing: error))
        }
    }

    func exchangeUDP(_ query: [UInt8]) async throws -> [UInt8] {
        let remote: SocketAddress
        do {
            remote = try SocketAddress.makeAddressResolvingHost(host, port: port)
        } catch {
            throw DNSError.connection(server: serverDescription, reason: "cannot resolve \(host): \(error)")
        }
        let promise = group.next().makePromise(of: [UInt8].self)
        let timeout = self.timeout
        let bootstrap = DatagramBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        DNSUDPExchangeHandler(query: query, remote: remote, promise: promise, timeout: timeout))
                }
            }
        do {
            let local = remote.protocol == .inet6 ? "::" : "0.0.0.0"
            let channel = try await bootstrap.bind(host: local, port: 0).get()
            defer { channel.close(promise: nil) }
            return try await promise.futureResult.get()
        } catch let error as DNSError {
            throw error
        } catch {
            promise.fail(error)
            throw DNSError.connection(server: serverDescription, reason: String(describing: error))
        }
    }
}
