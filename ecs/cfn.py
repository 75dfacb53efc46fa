"""Reads the CloudFormation template: YAML with the short-form intrinsic tags (!Ref,
!Sub, !GetAtt, ...) turned into their long form, as CloudFormation itself does."""

import pathlib

import yaml

TEMPLATE = pathlib.Path(__file__).resolve().parent / "cloudformation" / "upbrella.yaml"


class _Loader(yaml.SafeLoader):
    pass


def _intrinsic(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        # Only the first dot separates the resource: Database.Endpoint.Address.
        resource, attribute = value.split(".", 1)
        return {"Fn::GetAtt": [resource, attribute]}
    if suffix == "Condition":
        return {"Condition": value}
    return {f"Fn::{suffix}": value}


_Loader.add_multi_constructor("!", _intrinsic)


def load_template(path=TEMPLATE):
    return yaml.load(pathlib.Path(path).read_text(), Loader=_Loader)
