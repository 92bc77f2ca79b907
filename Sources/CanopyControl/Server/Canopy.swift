/// Canopy's control plane: the orchestrator, build queue, rollout controller and admin API.
public enum Canopy {
    public static let version = "0.1.0"
}
