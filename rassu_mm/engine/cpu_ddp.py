"""DDP wrapper that also works for models on the CPU."""
from mmengine.model import MMDistributedDataParallel
from mmseg.registry import MODEL_WRAPPERS


@MODEL_WRAPPERS.register_module()
class CPUDistributedDataParallel(MMDistributedDataParallel):
    """:class:`MMDistributedDataParallel` that drops ``device_ids`` when the
    module lives on the CPU (the runner always passes ``LOCAL_RANK``, which
    DDP rejects for CPU modules). Identical to the parent on GPUs."""

    def __init__(self, module, device_ids=None, **kwargs):
        on_cpu = all(p.device.type == 'cpu' for p in module.parameters())
        kwargs.setdefault('broadcast_buffers', False)
        super().__init__(
            module=module,
            device_ids=None if on_cpu else device_ids,
            **kwargs)
