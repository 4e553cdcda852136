"""Reading TensorBoard event files back in tests (the tensorboard package is not a dependency)."""

from pathlib import Path


def tensorboard_scalars(trial_dir: Path) -> dict[str, list[tuple[int, float]]]:
    """{tag: [(step, value)]} from the trial's one TensorBoard events file (TFRecord framing:
    8-byte length, 4-byte CRC, the Event protobuf, 4-byte CRC)."""
    import struct

    from tensorboardX.proto import event_pb2

    (events,) = trial_dir.glob("events.out.tfevents.*")
    data, i, scalars = events.read_bytes(), 0, {}
    while i < len(data):
        (length,) = struct.unpack("<Q", data[i : i + 8])
        event = event_pb2.Event.FromString(data[i + 12 : i + 12 + length])
        i += 12 + length + 4
        for value in event.summary.value:
            scalars.setdefault(value.tag, []).append((event.step, value.simple_value))
    return scalars
