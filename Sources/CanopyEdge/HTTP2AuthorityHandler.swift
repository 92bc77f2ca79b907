import NIOCore
import NIOHTTP2

/// Makes `:authority` win over a Host field on an HTTP/2 request (RFC 9113 §8.3.1: the recipient
/// "MUST NOT use the Host header field to determine the target URI if :authority is present").
/// NIOHTTP2's HTTP/1 codec keeps a Host field and drops `:authority` when both are sent, so this
/// handler, ahead of the codec in each stream, drops the Host field instead.
final class HTTP2AuthorityHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias InboundOut = HTTP2Frame.FramePayload

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .headers(var headers) = unwrapInboundIn(data), headers.headers.contains(name: ":authority"),
            headers.headers.contains(name: "host")
        else {
            context.fireChannelRead(data)
            return
        }
        headers.headers.remove(name: "host")
        context.fireChannelRead(wrapInboundOut(.headers(headers)))
    }
}
