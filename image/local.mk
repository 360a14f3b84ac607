# image/ sources (content store, registry, unpack, snapshots) go into libward-image.a
