namespace GameSystem.Mesh.Nats;

/// <summary>
/// The NATS subjects a service implementation uses directly, beyond the mesh's own (its contract's
/// subjects, the calls of its generated clients, replies): what its constructor's
/// <c>INatsConnection</c> is for. Generated NATS permissions (<c>GameSystem.Host permissions</c>)
/// grant exactly these, so a service that takes the connection without declaring them cannot be
/// given permissions at all. <c>{prefix}</c> stands for the mesh's subject prefix.
/// </summary>
/// <param name="publish">Subjects (wildcards allowed) the service publishes to.</param>
/// <param name="subscribe">Subjects (wildcards allowed) the service subscribes to.</param>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false, Inherited = false)]
public sealed class NatsSubjectsAttribute(string[] publish, string[] subscribe) : Attribute
{
    /// <summary>The placeholder for the mesh's subject prefix.</summary>
    public const string Prefix = "{prefix}";

    /// <summary>Subjects the service publishes to.</summary>
    public IReadOnlyList<string> Publish { get; } = publish ?? [];

    /// <summary>Subjects the service subscribes to.</summary>
    public IReadOnlyList<string> Subscribe { get; } = subscribe ?? [];
}
