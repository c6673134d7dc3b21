using GameSystem.Common.V1;
using GameSystem.State;
using GameSystem.WorldState.V1;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace GameSystem.Services.WorldState.Internal;

/// <summary>
/// One change of a world partition, planned in memory over what was read and turned into ONE
/// store transaction by <see cref="Commit"/>: every region and entity written requires the
/// version it was read at, every one read and left alone is required unchanged, and the indexes,
/// the regions' change-log entries and the outbox events follow from the difference between
/// what was read and what is planned. A plan that throws writes nothing.
/// </summary>
internal sealed class WorldChange
{
    /// <summary>
    /// The most bytes one region or entity takes stored. A change writes it several times (the
    /// record, its change-log entry, its events), all within one transaction's 8 MiB.
    /// </summary>
    public const int MaxRecordBytes = 256 * 1024;

    private readonly Dictionary<string, RegionSlot> _regions = new(StringComparer.Ordinal);
    private readonly Dictionary<string, EntitySlot> _entities = new(StringComparer.Ordinal);
    private readonly List<(string RegionId, PropertyChange Change)> _propertyChanges = [];

    public WorldChange(string worldId, Timestamp now, string eventId = "", string eventType = "")
    {
        WorldId = worldId;
        Now = now;
        EventId = eventId;
        EventType = eventType;
    }

    public string WorldId { get; }

    public Timestamp Now { get; }

    public string EventId { get; }

    public string EventType { get; }

    /// <summary>Adds a region as read (null entry: absent).</summary>
    public void LoadRegion(string regionId, StateEntry? entry)
    {
        if (!_regions.ContainsKey(regionId))
        {
            var record = entry is null ? null : RegionRecord.Parser.ParseFrom(entry.Value.Span);
            _regions[regionId] = new RegionSlot(record, entry?.Version ?? 0) { Current = record?.Clone() };
        }
    }

    /// <summary>Adds an entity as read (null entry: absent).</summary>
    public void LoadEntity(string entityId, StateEntry? entry)
    {
        if (!_entities.ContainsKey(entityId))
        {
            var entity = entry is null ? null : GameSystem.WorldState.V1.Entity.Parser.ParseFrom(entry.Value.Span);
            _entities[entityId] = new EntitySlot(entity, entry?.Version ?? 0) { Current = entity?.Clone() };
        }
    }

    /// <summary>The region as planned so far; null when absent. Throws <see cref="StaleReadException"/> when it was not read.</summary>
    public RegionRecord? Region(string regionId) =>
        _regions.TryGetValue(regionId, out var slot) ? slot.Current : throw new StaleReadException();

    /// <summary>The region as it was read.</summary>
    public RegionRecord? OriginalRegion(string regionId) =>
        _regions.TryGetValue(regionId, out var slot) ? slot.Original : throw new StaleReadException();

    /// <summary>The entity as planned so far; null when absent. Throws <see cref="StaleReadException"/> when it was not read.</summary>
    public Entity? Entity(string entityId) =>
        _entities.TryGetValue(entityId, out var slot) ? slot.Current : throw new StaleReadException();

    /// <summary>The entity as it was read.</summary>
    public Entity? OriginalEntity(string entityId) =>
        _entities.TryGetValue(entityId, out var slot) ? slot.Original : throw new StaleReadException();

    public bool IsLoaded(string entityId) => _entities.ContainsKey(entityId);

    /// <summary>Sets a region property (or removes it when <paramref name="value"/> is null), recording the change.</summary>
    public void SetRegionProperty(string regionId, string key, TypedValue? value)
    {
        var slot = _regions[regionId];
        var properties = slot.Current!.Region.Properties;
        var old = properties.TryGetValue(key, out var was) ? was : null;
        if (Equals(old, value))
        {
            return;
        }

        if (value is null)
        {
            properties.Remove(key);
        }
        else
        {
            properties[key] = value.Clone();
        }

        slot.FieldsChanged = true;
        _propertyChanges.Add((regionId, Change("", key, old, value)));
    }

    /// <summary>Marks the region's own fields as changed (the caller changed <see cref="Region"/>'s record in place).</summary>
    public void RegionFieldsChanged(string regionId) => _regions[regionId].FieldsChanged = true;

    /// <summary>Records a property change of the region computed by the caller (a whole-map replacement).</summary>
    public void RecordRegionPropertyChange(string regionId, string key, TypedValue? old, TypedValue? value) =>
        _propertyChanges.Add((regionId, Change("", key, old, value)));

    /// <summary>Sets an entity property (or removes it when <paramref name="value"/> is null), recording the change.</summary>
    public void SetEntityProperty(string entityId, string key, TypedValue? value)
    {
        var slot = _entities[entityId];
        var properties = slot.Current!.Properties;
        var old = properties.TryGetValue(key, out var was) ? was : null;
        if (Equals(old, value))
        {
            return;
        }

        if (value is null)
        {
            properties.Remove(key);
        }
        else
        {
            properties[key] = value.Clone();
        }

        slot.Changed = true;
        _propertyChanges.Add(("", Change(entityId, key, old, value)));
    }

    /// <summary>Marks an entity changed (the caller changed <see cref="Entity"/> in place, without property changes to record).</summary>
    public void EntityChanged(string entityId) => _entities[entityId].Changed = true;

    /// <summary>Records a property change of an entity computed by the caller (a whole-map replacement).</summary>
    public void RecordEntityPropertyChange(string entityId, string key, TypedValue? old, TypedValue? value) =>
        _propertyChanges.Add(("", Change(entityId, key, old, value)));

    /// <summary>Creates <paramref name="entity"/> (its id was read absent) in <paramref name="regionId"/>.</summary>
    public void CreateEntity(string regionId, Entity entity)
    {
        var slot = _entities[entity.EntityId];
        var created = entity.Clone();
        created.RegionId = regionId;
        created.Version = 0;
        created.CreateTime = null;
        created.UpdateTime = null;
        slot.Current = created;
        slot.Changed = true;
    }

    public void DeleteEntity(string entityId)
    {
        var slot = _entities[entityId];
        slot.Current = null;
        slot.Changed = true;
    }

    /// <summary>Moves an entity to <paramref name="toRegionId"/> (loaded) and, when given, <paramref name="position"/>.</summary>
    public void MoveEntity(string entityId, string toRegionId, Vector3? position)
    {
        var slot = _entities[entityId];
        slot.Current!.RegionId = toRegionId;
        if (position is not null)
        {
            slot.Current.Position = position.Clone();
        }

        slot.Changed = true;
    }

    /// <summary>Creates a region (its id was read absent) from <paramref name="record"/>.</summary>
    public void CreateRegion(RegionRecord record)
    {
        var slot = _regions[record.Region.RegionId];
        slot.Current = record;
        slot.Created = true;
        slot.FieldsChanged = true;
    }

    /// <summary>Deletes a region that holds no entity (any left must be deleted in this change too).</summary>
    public void DeleteRegion(string regionId) => _regions[regionId].Deleted = true;

    /// <summary>Adds <paramref name="delta"/> to a region's child count: a store write, not a change of the region.</summary>
    public void AdjustChildren(string regionId, string childId, int delta)
    {
        var slot = _regions[regionId];
        slot.Current!.ChildCount += delta;
        slot.Written = true;
        (delta > 0 ? slot.ChildrenAdded : slot.ChildrenRemoved).Add(childId);
    }

    /// <summary>
    /// Writes the change into <paramref name="transaction"/>: the regions and entities, their
    /// indexes, a change-log entry per region that changed (its version moved on by one) and the
    /// outbox events. RESOURCE_EXHAUSTED when a region would hold more than <paramref name="maxEntities"/>.
    /// </summary>
    public WorldCommit Commit(StateTransaction transaction, int maxEntities, TimeSpan changeRetention, Action<StateTransaction, DomainEvent> publish)
    {
        var changes = new Dictionary<string, RegionChanged>(StringComparer.Ordinal);
        var removedKinds = new Dictionary<string, Dictionary<string, string>>(StringComparer.Ordinal);
        var previousKinds = new Dictionary<string, Dictionary<string, string>>(StringComparer.Ordinal);
        var entityChanges = new List<EntityChanged>();
        RegionChanged ChangeOf(string regionId)
        {
            if (!changes.TryGetValue(regionId, out var change))
            {
                changes[regionId] = change = new RegionChanged { RegionId = regionId, EventId = EventId, EventType = EventType, ChangeTime = Now };
            }

            return change;
        }

        foreach (var (regionId, slot) in _regions)
        {
            if (slot.Created || slot.Deleted || slot.FieldsChanged)
            {
                ChangeOf(regionId);
            }
        }

        // A property change belongs to the region its entity ends in; a deleted entity's are dropped.
        var attributed = new List<(string RegionId, PropertyChange Change)>();
        foreach (var (regionId, change) in _propertyChanges)
        {
            var owner = change.EntityId.Length == 0 ? regionId : _entities[change.EntityId].Current?.RegionId;
            if (owner is not null)
            {
                attributed.Add((owner, change));
                ChangeOf(owner);
            }
        }

        foreach (var (entityId, slot) in _entities)
        {
            var key = StoreKeys.Entity(WorldId, entityId);
            if (!slot.Changed || (slot.Original is null && slot.Current is null))
            {
                transaction.Require(key, slot.StoreVersion);
                continue;
            }

            var before = slot.Original;
            var after = slot.Current;
            if (after is not null)
            {
                after.Version = (before?.Version ?? 0) + 1;
                after.CreateTime = before?.CreateTime ?? Now;
                after.UpdateTime = Now;
                if (after.CalculateSize() is var size && size > MaxRecordBytes)
                {
                    throw Errors.ResourceExhausted($"Entity '{entityId}' would take {size} bytes, more than the {MaxRecordBytes} an entity may; keep large data in the service that owns it (external_id) rather than in properties. Nothing was written.");
                }

                transaction.Set(key, after.ToByteArray(), expectedVersion: slot.StoreVersion);
                var region = _regions[after.RegionId];
                if (before is null || before.RegionId != after.RegionId)
                {
                    region.Current!.EntityCount++;
                    if (region.Current.EntityCount > maxEntities)
                    {
                        throw Errors.ResourceExhausted($"Region '{after.RegionId}' already holds {region.Current.EntityCount - 1} entities, the most a region may (MaxEntitiesPerRegion); delete some or split the region. Nothing was written.");
                    }
                }

                ChangeOf(after.RegionId).UpsertedEntities.Add(after.Clone());
                if (before is not null && before.RegionId == after.RegionId && before.Kind != after.Kind)
                {
                    KindsOf(previousKinds, after.RegionId)[entityId] = before.Kind;
                }
            }
            else
            {
                transaction.Delete(key, slot.StoreVersion);
            }

            if (before is not null && (after is null || before.RegionId != after.RegionId))
            {
                _regions[before.RegionId].Current!.EntityCount--;
                ChangeOf(before.RegionId).RemovedEntityIds.Add(entityId);
                KindsOf(removedKinds, before.RegionId)[entityId] = before.Kind;
            }

            var was = Members(before);
            var now = Members(after);
            foreach (var index in was.Except(now))
            {
                transaction.IndexRemove(index, entityId);
            }

            foreach (var index in now.Except(was))
            {
                transaction.IndexAdd(index, entityId);
            }
        }

        var regionVersions = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var (regionId, slot) in _regions)
        {
            var key = StoreKeys.Region(WorldId, regionId);
            var changed = changes.TryGetValue(regionId, out var change);
            if (!changed && !slot.Written)
            {
                transaction.Require(key, slot.StoreVersion);
                continue;
            }

            var record = slot.Current ?? throw new InvalidOperationException($"Region '{regionId}' changed but is absent.");
            foreach (var child in slot.ChildrenAdded)
            {
                transaction.IndexAdd(StoreKeys.Children(WorldId, regionId), child);
            }

            foreach (var child in slot.ChildrenRemoved)
            {
                transaction.IndexRemove(StoreKeys.Children(WorldId, regionId), child);
            }

            if (record.CalculateSize() is var regionSize && regionSize > MaxRecordBytes)
            {
                throw Errors.ResourceExhausted($"Region '{regionId}' would take {regionSize} bytes, more than the {MaxRecordBytes} a region may; keep large data elsewhere. Nothing was written.");
            }

            if (changed)
            {
                record.Region.Version++;
                record.Region.UpdateTime = Now;
                if (slot.Created)
                {
                    record.Region.CreateTime = Now;
                }

                change!.Version = record.Region.Version;
                change.Deleted = slot.Deleted;
                if (slot.FieldsChanged && !slot.Deleted)
                {
                    change.Region = record.Region.Clone();
                }

                change.PropertyChanges.AddRange(attributed.Where(p => p.RegionId == regionId).Select(p => p.Change));
                var entry = new ChangeRecord { Change = change };
                if (removedKinds.TryGetValue(regionId, out var kinds))
                {
                    entry.RemovedKinds.Add(kinds);
                }

                if (previousKinds.TryGetValue(regionId, out var previous))
                {
                    entry.PreviousKinds.Add(previous);
                }

                transaction.Set(StoreKeys.Change(WorldId, regionId, record.Generation, change.Version), entry.ToByteArray(), ttl: changeRetention);
                regionVersions[regionId] = record.Region.Version;
            }

            if (slot.Deleted)
            {
                if (record.EntityCount != 0)
                {
                    throw new InvalidOperationException($"Region '{regionId}' is deleted with {record.EntityCount} entities left.");
                }

                transaction.Delete(key, slot.StoreVersion).IndexRemove(StoreKeys.WorldRegions(WorldId), regionId);
            }
            else
            {
                transaction.Set(key, record.ToByteArray(), expectedVersion: slot.StoreVersion);
                if (slot.Created)
                {
                    transaction.IndexAdd(StoreKeys.WorldRegions(WorldId), regionId);
                }
            }
        }

        foreach (var (entityId, slot) in _entities)
        {
            if (!slot.Changed || (slot.Original is null && slot.Current is null))
            {
                continue;
            }

            var regionId = slot.Current?.RegionId ?? slot.Original!.RegionId;
            var entityChange = new EntityChanged
            {
                EntityId = entityId,
                RegionId = regionId,
                Entity = slot.Current?.Clone(),
                PreviousRegionId = slot.Original is { } before && slot.Current is { } after && before.RegionId != after.RegionId ? before.RegionId : "",
                RegionVersion = regionVersions[regionId],
                EventId = EventId,
                Deleted = slot.Current is null,
                ChangeTime = Now,
            };
            entityChange.PropertyChanges.AddRange(attributed.Where(p => p.Change.EntityId == entityId).Select(p => p.Change));
            entityChanges.Add(entityChange);
        }

        foreach (var change in changes.Values)
        {
            var generation = _regions[change.RegionId].Current!.Generation;
            publish(transaction, WorldEvents.RegionChanged(change, generation));
        }

        foreach (var entityChange in entityChanges)
        {
            var generation = _regions[entityChange.RegionId].Current!.Generation;
            publish(transaction, WorldEvents.EntityChanged(entityChange, generation));
        }

        return new WorldCommit(changes, entityChanges, [.. attributed.Select(p => p.Change)]);
    }

    private static Dictionary<string, string> KindsOf(Dictionary<string, Dictionary<string, string>> byRegion, string regionId)
    {
        if (!byRegion.TryGetValue(regionId, out var kinds))
        {
            byRegion[regionId] = kinds = new Dictionary<string, string>(StringComparer.Ordinal);
        }

        return kinds;
    }

    private IEnumerable<string> Members(Entity? entity)
    {
        if (entity is null)
        {
            yield break;
        }

        yield return StoreKeys.Entities(WorldId, entity.RegionId);
        yield return StoreKeys.EntitiesOfKind(WorldId, entity.RegionId, entity.Kind);
        foreach (var tag in entity.Tags.Distinct(StringComparer.Ordinal))
        {
            yield return StoreKeys.EntitiesWithTag(WorldId, entity.RegionId, tag);
        }
    }

    private static PropertyChange Change(string entityId, string key, TypedValue? old, TypedValue? value) =>
        new() { EntityId = entityId, Key = key, OldValue = old?.Clone(), NewValue = value?.Clone() };

    private sealed class RegionSlot(RegionRecord? original, long storeVersion)
    {
        public RegionRecord? Original { get; } = original;

        public long StoreVersion { get; } = storeVersion;

        public RegionRecord? Current { get; set; }

        public bool FieldsChanged { get; set; }

        public bool Created { get; set; }

        public bool Deleted { get; set; }

        /// <summary>The record is written without being a change of the region (its child count).</summary>
        public bool Written { get; set; }

        public List<string> ChildrenAdded { get; } = [];

        public List<string> ChildrenRemoved { get; } = [];
    }

    private sealed class EntitySlot(Entity? original, long storeVersion)
    {
        public Entity? Original { get; } = original;

        public long StoreVersion { get; } = storeVersion;

        public Entity? Current { get; set; }

        public bool Changed { get; set; }
    }
}

/// <summary>What a committed <see cref="WorldChange"/> changed: per region its change (new version), and each entity's.</summary>
internal sealed record WorldCommit(IReadOnlyDictionary<string, RegionChanged> Regions, IReadOnlyList<EntityChanged> Entities, IReadOnlyList<PropertyChange> PropertyChanges)
{
    /// <summary>The version of <paramref name="regionId"/> after the change, or <paramref name="unchanged"/> when it did not change.</summary>
    public long VersionOf(string regionId, long unchanged) => Regions.TryGetValue(regionId, out var change) ? change.Version : unchanged;
}

/// <summary>A plan needed a key it did not read (what it read changed meanwhile): read again and re-plan.</summary>
internal sealed class StaleReadException : Exception
{
    public StaleReadException()
        : base("The plan needed a region or entity that was not read; it is re-planned.")
    {
    }

    public StaleReadException(string message)
        : base(message)
    {
    }

    public StaleReadException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
