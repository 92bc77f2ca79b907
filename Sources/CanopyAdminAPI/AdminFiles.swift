/// The files in the data folder through which a client finds the running server's admin listener.
public enum AdminFiles {
    /// The admin listener's address (`http://host:port`), written by the server at start.
    public static let address = "admin.address"
    /// The admin token (mode 0600).
    public static let token = "admin.token"
}
