# packer build -var-file=prod.pkrvars.hcl -var api_binary=... -var api_version=... -var ami_version=... -var git_sha=... .
environment = "prod"
region      = "eu-west-1"
