// Prints how Kvm.open of a missing device fails: "<name> <code>" then the message. Run in the
// consumer folder to see which addon kvm-sys loads, or how its loader fails when there is none.
try {
  const { Kvm } = await import('@tsvmm/kvm-sys')
  Kvm.open('/nonexistent/kvm')
  console.log('Kvm.open did not throw')
} catch (e) {
  console.log(`${e?.name} ${e?.code}\n${e?.message}`)
}
