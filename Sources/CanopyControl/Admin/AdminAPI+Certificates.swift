import CanopyAdminAPI

extension AdminAPI {
    /// `GET /api/v1/certs`: each served hostname's certificate (see `CertificateStatus`).
    static let certificateRoutes: [Route] = [
        Route(method: .GET, template: "/api/v1/certs") { api, _, _ in
            .json(await api.orchestrator.certificates.statuses())
        }
    ]
}
