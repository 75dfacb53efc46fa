"""Stand-ins for what moto's CloudFormation leaves out of the stack's observability, so
the rehearsal can look at it through the AWS APIs (imported by ecs/emulator.py):

- AWS::Logs::MetricFilter is not a type moto's CloudFormation makes: the filters are put
  through moto's CloudWatch Logs model from the resolved template;
- its load balancers are made without their LoadBalancerAttributes (access logs among
  them), and its buckets without their lifecycle rules: both are applied from the
  resolved properties, as CloudFormation would.
"""

from moto.cloudformation import parsing as cfn_parsing
from moto.core.common_models import CloudFormationModel
from moto.elbv2.models import FakeLoadBalancer, elbv2_backends
from moto.logs.models import logs_backends
from moto.s3.models import FakeBucket, s3_backends

STAND_INS = [
    "AWS::Logs::MetricFilter: put through moto's CloudWatch Logs model from the resolved template (moto's "
    "CloudFormation skips the type)",
    "the load balancers' attributes (access logs) and the buckets' lifecycle rules: applied through moto's "
    "ELBv2 and S3 models from the resolved template (moto's CloudFormation skips them)",
]


class MetricFilter(CloudFormationModel):
    """AWS::Logs::MetricFilter, put in (and deleted from) moto's CloudWatch Logs model."""

    __module__ = "moto.logs.metric_filter_stand_in"

    def __init__(self, name, group):
        self.name, self.group = name, group

    @property
    def physical_resource_id(self):
        return self.name

    @staticmethod
    def cloudformation_name_type():
        return "FilterName"

    @staticmethod
    def cloudformation_type():
        return "AWS::Logs::MetricFilter"

    @classmethod
    def has_cfn_attr(cls, attr):
        return False

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        props = cloudformation_json["Properties"]
        transformations = [{"metricName": t["MetricName"], "metricNamespace": t["MetricNamespace"],
                            "metricValue": str(t["MetricValue"]),
                            **({"defaultValue": float(t["DefaultValue"])} if "DefaultValue" in t else {}),
                            **({"unit": t["Unit"]} if "Unit" in t else {})}
                           for t in props["MetricTransformations"]]
        logs_backends[account_id][region_name].put_metric_filter(
            resource_name, props["FilterPattern"], props["LogGroupName"], transformations)
        return cls(resource_name, props["LogGroupName"])

    @classmethod
    def update_from_cloudformation_json(cls, original_resource, new_resource_name, cloudformation_json,
                                        account_id, region_name):
        cls.delete_from_cloudformation_json(original_resource.name, cloudformation_json, account_id, region_name)
        return cls.create_from_cloudformation_json(original_resource.name, cloudformation_json, account_id,
                                                   region_name)

    def delete(self, account_id, region_name):
        logs_backends[account_id][region_name].delete_metric_filter(self.name, self.group)

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):
        logs_backends[account_id][region_name].delete_metric_filter(
            resource_name, cloudformation_json["Properties"]["LogGroupName"])


_create_load_balancer = FakeLoadBalancer.create_from_cloudformation_json.__func__


@classmethod
def create_load_balancer_as_cloudformation(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
    balancer = _create_load_balancer(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
    attributes = {a["Key"]: a["Value"] for a in cloudformation_json["Properties"].get("LoadBalancerAttributes", [])}
    if attributes:
        elbv2_backends[account_id][region_name].modify_load_balancer_attributes(balancer.arn, attributes)
    return balancer


FakeLoadBalancer.create_from_cloudformation_json = create_load_balancer_as_cloudformation


def apply_lifecycle(bucket, properties, account_id):
    """The bucket's LifecycleConfiguration, in the shape moto's S3 model reads (the XML's)."""
    rules = []
    for rule in properties.get("LifecycleConfiguration", {}).get("Rules", []):
        item = {"ID": rule.get("Id"), "Status": rule["Status"], "Filter": {"Prefix": rule.get("Prefix", "")}}
        if "ExpirationInDays" in rule:
            item["Expiration"] = {"Days": str(rule["ExpirationInDays"])}
        if "AbortIncompleteMultipartUpload" in rule:
            item["AbortIncompleteMultipartUpload"] = {
                "DaysAfterInitiation": str(rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"])}
        rules.append(item)
    if rules:
        s3_backends[account_id]["aws"].put_bucket_lifecycle(bucket.name, rules)


cfn_parsing.get_model_map.cache_clear()
cfn_parsing.get_name_type_map.cache_clear()
