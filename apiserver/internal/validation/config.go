package validation

import (
	"bytes"
	"encoding/json"
	"maps"

	corev1 "skiff.dev/proto/core/v1"
	"skiff.dev/proto/validation/field"
)

// MaxConfigSize is the most bytes the data of a ConfigMap or Secret may
// hold, as in Kubernetes (etcd's request limit leaves room for no more).
const MaxConfigSize = 1 << 20

// Secret types with required keys, as Kubernetes defines them.
const (
	SecretTypeOpaque              = "Opaque"
	SecretTypeServiceAccountToken = "kubernetes.io/service-account-token"
	SecretTypeDockerConfigJSON    = "kubernetes.io/dockerconfigjson"
	SecretTypeBasicAuth           = "kubernetes.io/basic-auth"
	SecretTypeSSHAuth             = "kubernetes.io/ssh-auth"
	SecretTypeTLS                 = "kubernetes.io/tls"

	// ServiceAccountNameAnnotation names the service account a token secret
	// belongs to.
	ServiceAccountNameAnnotation = "kubernetes.io/service-account.name"
)

const immutableDataMsg = "field is immutable when `immutable` is set"

var (
	dataPath       = field.NewPath("data")
	binaryDataPath = field.NewPath("binaryData")
	stringDataPath = field.NewPath("stringData")
	immutablePath  = field.NewPath("immutable")
)

// ---------------------------------------------------------------- ConfigMap

// DefaultConfigMap fills a ConfigMap's defaults. Kubernetes has none; it
// exists so every kind has the same three functions.
func DefaultConfigMap(*corev1.ConfigMap) {}

// ValidateConfigMap checks a new ConfigMap: keys usable as file names, not
// repeated between data and binaryData, and at most 1 MiB in all.
func ValidateConfigMap(c *corev1.ConfigMap) field.ErrorList {
	errs := validateObjectMeta(c.GetMetadata(), namespaced, dnsSubdomainName, metadataPath)
	total := 0
	for _, k := range sortedKeys(c.GetData()) {
		errs = append(errs, invalidAll(dataPath.Key(k), k, isConfigMapKey(k))...)
		total += len(k) + len(c.Data[k])
	}
	for _, k := range sortedKeys(c.GetBinaryData()) {
		errs = append(errs, invalidAll(binaryDataPath.Key(k), k, isConfigMapKey(k))...)
		if _, ok := c.Data[k]; ok {
			errs = append(errs, field.Invalid(binaryDataPath.Key(k), k, "duplicate of key present in data"))
		}
		total += len(k) + len(c.BinaryData[k])
	}
	if total > MaxConfigSize {
		errs = append(errs, field.TooLong(dataPath, "", MaxConfigSize))
	}
	return errs
}

// ValidateConfigMapUpdate checks a ConfigMap update: an immutable ConfigMap
// keeps its data and stays immutable.
func ValidateConfigMapUpdate(newObj, old *corev1.ConfigMap) field.ErrorList {
	errs := ValidateConfigMap(newObj)
	errs = append(errs, validateObjectMetaUpdate(newObj.GetMetadata(), old.GetMetadata(), metadataPath)...)
	if old.GetImmutable() {
		if !newObj.GetImmutable() {
			errs = append(errs, field.Forbidden(immutablePath, immutableDataMsg))
		}
		if !maps.Equal(newObj.GetData(), old.GetData()) {
			errs = append(errs, field.Forbidden(dataPath, immutableDataMsg))
		}
		if !maps.EqualFunc(newObj.GetBinaryData(), old.GetBinaryData(), bytes.Equal) {
			errs = append(errs, field.Forbidden(binaryDataPath, immutableDataMsg))
		}
	}
	return errs
}

// ---------------------------------------------------------------- Secret

// DefaultSecret fills a Secret's defaults: type Opaque, and stringData
// merged into data (stringData wins) and cleared, as Kubernetes does on
// write.
func DefaultSecret(s *corev1.Secret) {
	if s == nil {
		return
	}
	if s.Type == "" {
		s.Type = SecretTypeOpaque
	}
	if len(s.StringData) > 0 {
		if s.Data == nil {
			s.Data = make(map[string][]byte, len(s.StringData))
		}
		for k, v := range s.StringData {
			s.Data[k] = []byte(v)
		}
		s.StringData = nil
	}
}

// ValidateSecret checks a new Secret: keys usable as file names, at most
// 1 MiB of data, and the keys its type requires.
func ValidateSecret(s *corev1.Secret) field.ErrorList {
	errs := validateObjectMeta(s.GetMetadata(), namespaced, dnsSubdomainName, metadataPath)
	total := 0
	for _, k := range sortedKeys(s.GetData()) {
		errs = append(errs, invalidAll(dataPath.Key(k), k, isConfigMapKey(k))...)
		total += len(k) + len(s.Data[k])
	}
	for _, k := range sortedKeys(s.GetStringData()) {
		errs = append(errs, invalidAll(stringDataPath.Key(k), k, isConfigMapKey(k))...)
		total += len(k) + len(s.StringData[k])
	}
	if total > MaxConfigSize {
		errs = append(errs, field.TooLong(dataPath, "", MaxConfigSize))
	}
	if s.GetType() == "" {
		errs = append(errs, field.Required(field.NewPath("type"), ""))
	}
	return append(errs, validateSecretType(s)...)
}

// validateSecretType checks the keys Kubernetes' built-in secret types need.
func validateSecretType(s *corev1.Secret) field.ErrorList {
	has := func(k string) bool {
		_, inData := s.Data[k]
		_, inStringData := s.StringData[k]
		return inData || inStringData
	}
	require := func(keys ...string) field.ErrorList {
		var errs field.ErrorList
		for _, k := range keys {
			if !has(k) {
				errs = append(errs, field.Required(dataPath.Key(k), ""))
			}
		}
		return errs
	}
	switch s.Type {
	case SecretTypeServiceAccountToken:
		if s.GetMetadata().GetAnnotations()[ServiceAccountNameAnnotation] == "" {
			return field.ErrorList{field.Required(metadataPath.Child("annotations").Key(ServiceAccountNameAnnotation), "")}
		}
	case SecretTypeDockerConfigJSON:
		const key = ".dockerconfigjson"
		if errs := require(key); len(errs) > 0 {
			return errs
		}
		v := s.Data[key]
		if sv, ok := s.StringData[key]; ok {
			v = []byte(sv)
		}
		if !json.Valid(v) {
			return field.ErrorList{field.Invalid(dataPath.Key(key), "<secret contents redacted>", "must be valid JSON")}
		}
	case SecretTypeBasicAuth:
		if !has("username") && !has("password") {
			return require("username", "password")
		}
	case SecretTypeSSHAuth:
		return require("ssh-privatekey")
	case SecretTypeTLS:
		return require("tls.crt", "tls.key")
	}
	return nil
}

// ValidateSecretUpdate checks a Secret update: the type may not change, and
// an immutable Secret keeps its data and stays immutable.
func ValidateSecretUpdate(newObj, old *corev1.Secret) field.ErrorList {
	errs := ValidateSecret(newObj)
	errs = append(errs, validateObjectMetaUpdate(newObj.GetMetadata(), old.GetMetadata(), metadataPath)...)
	if newObj.GetType() != old.GetType() {
		errs = append(errs, field.Immutable(field.NewPath("type"), newObj.GetType()))
	}
	if old.GetImmutable() {
		if !newObj.GetImmutable() {
			errs = append(errs, field.Forbidden(immutablePath, immutableDataMsg))
		}
		if !maps.EqualFunc(secretData(newObj), secretData(old), bytes.Equal) {
			errs = append(errs, field.Forbidden(dataPath, immutableDataMsg))
		}
	}
	return errs
}

// secretData is a Secret's data with its stringData merged in, as stored.
func secretData(s *corev1.Secret) map[string][]byte {
	if len(s.GetStringData()) == 0 {
		return s.GetData()
	}
	data := maps.Clone(s.GetData())
	if data == nil {
		data = map[string][]byte{}
	}
	for k, v := range s.GetStringData() {
		data[k] = []byte(v)
	}
	return data
}
