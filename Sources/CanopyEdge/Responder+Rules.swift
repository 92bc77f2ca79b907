import NIOCore
import NIOHTTP1

/// A request's path through a deployment: its redirect and rewrite rules first (only when it has
/// any), then its files; custom headers chosen by the requested path, on redirects and 404s too.
extension Responder {
    static func serve(
        _ request: EdgeRequest, target: RequestTarget, deployment: ServedDeployment, context: inout ResponseContext,
        out: inout ByteBuffer
    ) -> EdgeResponse {
        if !deployment.rules.isEmpty {
            var vary = RuleVary()
            let visitor = context.visitor
            let outcome = deployment.rules.evaluate(
                path: requestPath(target), query: target.query, host: context.host,
                acceptLanguage: request.acceptLanguage, cookie: request.cookie, country: { visitor?.country },
                vary: &vary
            ) {
                if case .missing = lookup(deployment, path: target.path, trailingSlash: target.trailingSlash) {
                    return false
                }
                return true
            }
            context.vary = vary
            let bodyless = request.method == .get || request.method == .head
            if case .proxy(var proxy, let forwardQuery)? = outcome {
                if forwardQuery && !target.query.isEmpty {
                    proxy.uri += (proxy.uri.contains("?") ? "&" : "?") + target.query
                }
                var response = EdgeResponse(status: 0)
                response.proxy = proxy
                return response
            }
            if !bodyless { return methodAnswer(request, &out, context) }
            switch outcome {
            case .redirect(let status, let location, let forwardQuery)?:
                var full = location
                if forwardQuery && !target.query.isEmpty && !location.contains("?") { full += "?" + target.query }
                return redirect(status, to: full, target: target, deployment: deployment, context, &out)
            case .rewrite(let path)?:
                return serveRewritten(request, path: path, status: 200, target: target, deployment, context, &out)
            case .serve(let path, let status)?:
                return serveRewritten(request, path: path, status: status, target: target, deployment, context, &out)
            case .proxy?, nil:
                break
            }
        } else if request.method != .get && request.method != .head {
            return methodAnswer(request, &out, context)
        }
        switch lookup(deployment, path: target.path, trailingSlash: target.trailingSlash) {
        case .file(let file):
            return serveFile(request, file: file, status: 200, deployment: deployment, context, &out)
        case .slashRedirect(let location):
            return redirect(
                301, to: location + (target.query.isEmpty ? "" : "?" + target.query), target: target,
                deployment: deployment, context, &out)
        case .missing:
            return notFound(request, target: target, deployment: deployment, context, &out)
        }
    }

    /// The path as asked for, `/`-rooted, with its trailing slash: what header rules match.
    static func requestPath(_ target: RequestTarget) -> String {
        "/" + target.path + (target.trailingSlash ? "/" : "")
    }

    private static func serveRewritten(
        _ request: EdgeRequest, path: String, status: Int, target: RequestTarget, _ deployment: ServedDeployment,
        _ context: ResponseContext, _ out: inout ByteBuffer
    ) -> EdgeResponse {
        var context = context
        // Header rules match the requested URL, not the file it was rewritten to (Netlify's _headers);
        // Amplify's globs may match the served file too.
        let parsed = (try? RequestTarget.parse(path.hasPrefix("/") ? path : "/" + path))
        if let parsed,
            case .file(let file) = lookup(deployment, path: parsed.path, trailingSlash: parsed.trailingSlash)
        {
            context.custom = deployment.rules.customHeaders(for: requestPath(target), file: "/" + file.path)
            return serveFile(request, file: file, status: status, deployment: deployment, context, &out)
        }
        context.custom = deployment.rules.customHeaders(for: requestPath(target))
        if status != 200 && status != 404 {
            // A `/gone /gone.html 410` whose page is missing still answers its status.
            return simple(
                status, &out, context, extra: "X-Canopy-Deployment: \(deployment.id)\r\n" + customLines(context),
                body: HTTPResponseStatus(statusCode: status).reasonPhrase + ".")
        }
        return notFound(request, target: target, deployment: deployment, context, &out)
    }

    private static func notFound(
        _ request: EdgeRequest, target: RequestTarget, deployment: ServedDeployment, _ context: ResponseContext,
        _ out: inout ByteBuffer
    ) -> EdgeResponse {
        var context = context
        if let page = deployment.notFoundPage {
            context.custom = deployment.rules.customHeaders(for: requestPath(target), file: "/" + page.path)
            return serveFile(request, file: page, status: 404, deployment: deployment, context, &out)
        }
        if context.custom == nil { context.custom = deployment.rules.customHeaders(for: requestPath(target)) }
        let noindex = context.route?.route.noindex == true
        guard !context.vary.isEmpty || context.custom?.lines.isEmpty == false else {
            return write(noindex ? deployment.notFoundNoindex : deployment.notFound, &out, context)
        }
        var extra = "X-Canopy-Deployment: \(deployment.id)\r\n" + customLines(context)
        if noindex { extra += "X-Robots-Tag: noindex\r\n" }
        return simple(404, &out, context, extra: extra, body: "Not found.")
    }

    private static func redirect(
        _ status: Int, to location: String, target: RequestTarget, deployment: ServedDeployment,
        _ context: ResponseContext, _ out: inout ByteBuffer
    ) -> EdgeResponse {
        var context = context
        context.custom = deployment.rules.customHeaders(for: requestPath(target))
        let location = LocationHeader.encode(location)
        var extra = "Location: \(location)\r\nX-Canopy-Deployment: \(deployment.id)\r\n"
        if context.route?.route.noindex == true { extra += "X-Robots-Tag: noindex\r\n" }
        extra += customLines(context)
        extra += cookieLine(context)
        return simple(
            status, &out, context, extra: extra, body: "Moved to \(LocationHeader.html(location))", cache: "no-cache")
    }

    /// Custom header lines for a redirect or Canopy's own 404. Their Cache-Control stays Canopy's
    /// (`no-cache`, `no-store`): a rule's long max-age meant for files would otherwise pin a redirect
    /// or a missing page in caches.
    private static func customLines(_ context: ResponseContext) -> String {
        let vary = context.vary.line
        guard let custom = context.custom else { return vary }
        return String(decoding: custom.lines, as: UTF8.self) + vary
    }
}
