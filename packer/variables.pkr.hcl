# Inputs of zmanim-ami.pkr.hcl. Environment values live in <env>.pkrvars.hcl (prod.pkrvars.hcl); release values
# (api_binary, api_version, git_sha) come from the command line of the AMI workflow.

variable "environment" {
  type        = string
  description = "Environment name; the AMI id is published to SSM /zmanim/<environment>/ami-id."
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]*$", var.environment))
    error_message = "The environment must be lowercase letters, digits and dashes, e.g. prod."
  }
}

variable "region" {
  type        = string
  description = "AWS region of the build, the AMI and the SSM parameter."
}

variable "build_instance_type" {
  type        = string
  default     = "m7g.large"
  description = "Graviton (arm64) instance type of the build instance."
  validation {
    condition     = can(regex("^[a-z][0-9]+g[a-z]*\\.[a-z0-9]+$", var.build_instance_type))
    error_message = "The build instance must be a Graviton (arm64) type such as m7g.large or t4g.small."
  }
}

variable "build_subnet_id" {
  type        = string
  default     = ""
  description = "Subnet of the build instance (needs internet access); empty uses the default VPC."
}

variable "api_binary" {
  type        = string
  description = "Path of the linux/arm64 API binary to bake in (built by the application's release workflow)."
  validation {
    condition     = fileexists(var.api_binary)
    error_message = "The api_binary file does not exist; download the release and pass its path (-var api_binary=/path/to/zmanim-api)."
  }
}

variable "api_version" {
  type        = string
  description = "Version of api_binary; written to /opt/zmanim/version.txt and tagged on the AMI."
  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$", var.api_version))
    error_message = "The api_version must be a release name of letters, digits, '.', '_', '+' or '-'."
  }
}

variable "ami_version" {
  type        = string
  description = "Version of this AMI (the infrastructure release tag); part of the AMI name and tags."
  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", var.ami_version))
    error_message = "The ami_version must be letters, digits, '.', '_' or '-' (it becomes part of the AMI name)."
  }
}

variable "git_sha" {
  type        = string
  description = "Commit of this repository the AMI is built from; tagged on the AMI."
  validation {
    condition     = can(regex("^[0-9a-f]{40}$", var.git_sha))
    error_message = "The git_sha must be a full 40-digit commit id (git rev-parse HEAD)."
  }
}

variable "apt_snapshot" {
  type        = string
  default     = "20260920T000000Z"
  description = "Ubuntu archive snapshot every apt pin resolves against (APT::Snapshot)."
  validation {
    condition     = can(regex("^[0-9]{8}T[0-9]{6}Z$", var.apt_snapshot))
    error_message = "The apt_snapshot must be a snapshot id like 20260920T000000Z."
  }
}

variable "apt_packages" {
  type        = list(string)
  description = "Ubuntu 24.04 packages, each pinned as name=version in apt_snapshot."
  default = [
    "postgresql-16=16.15-0ubuntu0.24.04.1",
    "postgresql-client-16=16.15-0ubuntu0.24.04.1",
    "postgresql-16-postgis-3=3.4.2+dfsg-1ubuntu3",
    "postgresql-16-postgis-3-scripts=3.4.2+dfsg-1ubuntu3",
    "postgresql-16-cron=1.6.2-1",
    "redis-server=5:7.0.15-1ubuntu0.24.04.4",
    "redis-tools=5:7.0.15-1ubuntu0.24.04.4",
    "jq=1.7.1-3ubuntu0.24.04.1",
    "xfsprogs=6.6.0-1ubuntu2.1",
    "unzip=6.0-28ubuntu4.1",
    "bzip2=1.0.8-5.1build0.1",
    "gnupg=2.4.4-2ubuntu17.3",
  ]
  validation {
    condition     = alltrue([for p in var.apt_packages : can(regex("^[a-z0-9][a-z0-9.+-]*=[0-9A-Za-z.+:~-]+$", p))])
    error_message = "Every apt_packages entry must be pinned as name=version."
  }
}

variable "restic_version" {
  type        = string
  default     = "0.17.3"
  description = "restic upstream release (at least 0.17: backups use --stdin-from-command)."
  validation {
    condition     = can(regex("^0\\.(1[7-9]|[2-9][0-9])\\.[0-9]+$", var.restic_version))
    error_message = "The restic_version must be 0.17.0 or later."
  }
}

variable "restic_sha256" {
  type        = string
  default     = "db27b803534d301cef30577468cf61cb2e242165b8cd6d8cd6efd7001be2e557"
  description = "sha256 of restic_<restic_version>_linux_arm64.bz2, from the release's SHA256SUMS. Change it with restic_version."
  validation {
    condition     = can(regex("^[0-9a-f]{64}$", var.restic_sha256))
    error_message = "The restic_sha256 must be 64 lowercase hex digits from restic's SHA256SUMS."
  }
}

variable "awscli_version" {
  type        = string
  default     = "2.22.35"
  description = "Exact AWS CLI v2 version (awscli-exe-linux-aarch64-<version>.zip)."
}

variable "awscli_key_fingerprint" {
  type        = string
  default     = "FB5DB77FD5C118B80511ADA8A6310ACC4672475C"
  description = "Fingerprint of the AWS CLI Team signing key (AWS CLI install guide)."
}

variable "cwagent_version" {
  type        = string
  default     = "1.300073.2b1889"
  description = "Exact CloudWatch agent version (ubuntu/arm64/<version>/amazon-cloudwatch-agent.deb)."
}

variable "cwagent_key_fingerprint" {
  type        = string
  default     = "937616F3450B7D806CBD9725D58167303B789C72"
  description = "Fingerprint of the Amazon CloudWatch Agent signing key (CloudWatch agent docs)."
}
