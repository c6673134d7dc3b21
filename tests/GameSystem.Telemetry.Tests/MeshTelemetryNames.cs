namespace GameSystem.Telemetry.Tests;

/// <summary>The mesh's names, as the tests compare them.</summary>
internal static class MeshTelemetryNames
{
    public const string SourceName = GameSystem.Mesh.MeshTelemetry.SourceName;

    public const string RpcSystem = GameSystem.Mesh.MeshTelemetry.RpcSystem;
}
