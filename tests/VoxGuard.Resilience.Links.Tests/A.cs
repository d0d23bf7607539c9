namespace T; public class A { [Test] public void B() => Assert.Pass(); }
