"""Run with Glance's own interpreter (.venv-glance): Glance's default policy rules as JSON.

    python policies.py

Prints {"rules": {name: check_str}, "operations": {"METHOD PATH": [rule, ...]}} from glance.policies.list_rules,
the operations being those each rule documents (oslo.policy DocumentedRuleDefault).
"""
import json

from glance.policies import list_rules


def main() -> None:
    rules, operations = {}, {}
    for rule in list_rules():
        rules[rule.name] = rule.check_str
        for op in getattr(rule, "operations", None) or []:
            operations.setdefault(f"{op['method']} {op['path']}", []).append(rule.name)
    print(json.dumps({"rules": rules, "operations": operations}, indent=1))


if __name__ == "__main__":
    main()
