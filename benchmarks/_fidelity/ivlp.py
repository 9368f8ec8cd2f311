"""IVLP against MaPLe's repository (trainers/independentVL.py): its base-to-new config, 2+2 tokens in 12 blocks."""
from ._adapter import Adapter, vl_prompt_name


class IVLPAdapter(Adapter):
    def our_name(self, name: str) -> str:
        return vl_prompt_name(name)


ADAPTER = IVLPAdapter(method="IVLP", authors_module="independentVL",
                      authors_repo="github.com/muzairkhattak/multimodal-prompt-learning",
                      config="configs/trainers/IVLP/vit_b16_c2_ep5_batch4_2+2ctx.yaml")
