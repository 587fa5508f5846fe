# src/data JPEG pipeline: jpeg decode, augment, ImageNet folders and lists, packed shards
